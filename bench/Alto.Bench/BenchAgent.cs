using Alto.TestSupport;

namespace Alto.Bench;

/// <summary>
/// The agent the benches run: the one bench/run.sh published as it ships (precompiled, named by
/// ALTO_BENCH_AGENT), or the Release build when the bench is started on its own.
/// </summary>
public static class BenchAgent
{
    public static string Dll =>
        Environment.GetEnvironmentVariable("ALTO_BENCH_AGENT") is { Length: > 0 } published && File.Exists(published)
            ? published
            : RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
}
