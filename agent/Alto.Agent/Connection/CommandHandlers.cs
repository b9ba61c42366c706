using Alto.Protocol.Agent.V1;

namespace Alto.Agent.Connection;

/// <summary>
/// The commands this agent can carry out, each registered with its handler. A command with no
/// handler here — a kind this platform cannot run, or one newer than this agent — is refused with
/// that reason, so the cluster never takes it as done.
/// </summary>
public sealed class CommandHandlers
{
    private readonly Dictionary<GatewayMessage.BodyOneofCase, Func<GatewayMessage, CancellationToken, Task>> _handlers = [];

    public CommandHandlers Register(GatewayMessage.BodyOneofCase kind, Func<GatewayMessage, CancellationToken, Task> handler)
    {
        _handlers.Add(kind, handler);
        return this;
    }

    public bool Handles(GatewayMessage.BodyOneofCase kind) => _handlers.ContainsKey(kind);

    /// <exception cref="NotSupportedException">No handler is registered for the command's kind.</exception>
    public Task HandleAsync(GatewayMessage command, CancellationToken cancellationToken) =>
        _handlers.TryGetValue(command.BodyCase, out var handler)
            ? handler(command, cancellationToken)
            : throw new NotSupportedException(
                $"this agent cannot run {command.BodyCase} commands{(OperatingSystem.IsLinux() ? "" : " on this platform")}; it takes {Known()}");

    private string Known() => _handlers.Count == 0 ? "none" : string.Join(", ", _handlers.Keys.Order());
}
