namespace Alto.Agent.Stubs;

/// <summary>A recall that could not complete; the file is still a valid stub.</summary>
public sealed class StubRecallException(string path, string reason, Exception? inner = null)
    : IOException($"could not recall {path}: {reason}", inner)
{
    public string Path { get; } = path;
}
