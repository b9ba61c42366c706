namespace Alto.Agent.Recall;

/// <summary>
/// An open of a stub that waits, unanswered, while it passes between the recall guard and an agent:
/// the descriptor this process holds for it, the number the kernel knows its event by (whoever
/// answers names that number), and the user its process opens files as
/// (<see cref="LinuxProcesses.FileSystemUser"/>), read when the event was. By the time the open is
/// handed on its process may be one whose user can no longer be read, and the open must still count
/// under its own user: for the user's share of the opens that may wait, and for the turns.
/// </summary>
public readonly record struct WaitingOpen(int Fd, int Number, uint User);
