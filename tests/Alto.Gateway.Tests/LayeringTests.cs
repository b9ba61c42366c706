using Alto.TestSupport;

namespace Alto.Gateway.Tests;

/// <summary>
/// The layering the README's architecture states, checked on the sources: the gateway reaches the
/// cluster through grain interfaces and contracts (and shared libraries) only, and no file of the
/// grains grows past what one concern needs.
/// </summary>
[Trait("Layer", "Unit")]
public sealed class LayeringTests
{
    private static IEnumerable<string> Sources(string folder) =>
        Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, folder), "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                           && !path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    [Fact]
    public void TheGatewayImportsNoGrainInternals()
    {
        var sources = Sources("gateway-api").ToList();
        Assert.NotEmpty(sources);
        var offending = sources.Where(path => File.ReadAllText(path).Contains("Alto.Grains", StringComparison.Ordinal))
            .Select(path => Path.GetRelativePath(RepositoryPaths.Root, path)).ToList();
        Assert.True(offending.Count == 0, "grain internals used by: " + string.Join(", ", offending));
    }

    [Fact]
    public void NoGrainSourceFileIsOver400Lines()
    {
        var sources = Sources("grains").ToList();
        Assert.NotEmpty(sources);
        var tooLong = sources.Select(path => (Path: Path.GetRelativePath(RepositoryPaths.Root, path), Lines: File.ReadLines(path).Count()))
            .Where(file => file.Lines > 400).Select(file => $"{file.Path} ({file.Lines} lines)").ToList();
        Assert.True(tooLong.Count == 0, "split these by concern: " + string.Join(", ", tooLong));
    }
}
