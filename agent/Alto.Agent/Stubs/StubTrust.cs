using System.Runtime.Versioning;

namespace Alto.Agent.Stubs;

/// <summary>
/// What a recall checks before it writes a byte (DESIGN.md §4): the stub's markers must be bound
/// to this very file (inode and generation), and the cluster's record of this host must not
/// contradict them. Only a privileged process can write <c>trusted.alto.*</c>, so a local user
/// cannot make a file of theirs a stub of someone else's data; the binding stops copies made by
/// privileged tools, and the cluster's record stops a stub naming another host's or another file's object.
/// </summary>
[SupportedOSPlatform("linux")]
public static class StubTrust
{
    /// <summary>Why <paramref name="stub"/>'s markers are not the open file's own, or null when they are (or, version 1, carry no binding).</summary>
    public static string? BindingProblem(int fd, StubInfo stub)
    {
        if (stub.Binding is not { } binding)
        {
            return null;
        }
        var actual = new StubBinding(LinuxFiles.Stat(fd).Inode, LinuxFiles.Generation(fd));
        return actual == binding
            ? null
            : $"the stub's markers were made for inode {binding.Inode} generation {binding.Generation}, not this file (inode {actual.Inode} generation {actual.Generation}): they were copied";
    }

    /// <summary>Throws <see cref="StubRefusedException"/> (or, for a version-1 stub the cluster cannot confirm now, <see cref="StubRecallException"/>) unless the recall may go on.</summary>
    public static async Task VerifyAsync(int fd, string path, StubInfo stub, StubCheck? check, CancellationToken cancellationToken)
    {
        var problem = BindingProblem(fd, stub);
        if (check is null)
        {
            // No cluster to ask (an operator's standalone recall, as root): the binding decides.
            if (problem is not null)
            {
                throw new StubRefusedException(path, problem);
            }
            return;
        }
        // The cluster hears of copied markers too: it audits the refusal.
        var answer = await check(new StubQuestion(path, stub.Locator, stub.Sha256, stub.IsLegacy, problem), cancellationToken);
        if (problem is not null)
        {
            throw new StubRefusedException(path, problem);
        }
        switch (answer.Verdict)
        {
            case StubVerdict.Refused:
                throw new StubRefusedException(path, answer.Reason ?? "the cluster's record does not match the stub");
            case StubVerdict.Unknown when stub.IsLegacy:
                throw new StubRefusedException(path, "the cluster has no record of this version-1 stub's object");
            case StubVerdict.Unreachable when stub.IsLegacy:
                // Version-1 markers could have been set by anyone: without the cluster's word the stub waits (it stays a stub, never zeros).
                throw new StubRecallException(path, "a version-1 stub is recalled only once the cluster confirms it, and the cluster did not answer");
        }
    }
}
