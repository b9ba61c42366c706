using System.Runtime.Versioning;
using System.Text.Json;
using Alto.Agent.Connection;
using Alto.Agent.Jobs;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// A stubbing cut short on a file the agent may not write when it starts again (its volume
/// remounted read-only since, as ext4 does after disk errors) stays in its journal, to be settled
/// later. That is a failure an operator must see
/// without reading the agent's log: with the real gateway and agent, the host API, the console's
/// source (latestMetrics), the audit log, /metrics and <c>alto-agent status</c> all name the file
/// and why, until the running agent, trying again on its own, finds it writable and settles it.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class UnsettledFilesEndToEndTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private readonly GatewayProcess _gateway = running.Gateway;

    [Fact]
    public async Task AFileLeftUnsettledIsReportedEverywhereUntilTheRunningAgentSettlesItOnceItIsWritable()
    {
        await using var world = await TieringWorld.CreateAsync(_gateway);
        var (path, sum) = await StubLeftUnsettledOnAReadOnlyVolumeAsync(world);
        try
        {
            var started = DateTimeOffset.UtcNow;
            var agent = world.StartAgent("--unsettled-retry-seconds", "1");

            var metrics = await WaitForMetricsAsync(world, unsettled: 1, started, agent);
            var problem = metrics.GetProperty("unsettledProblem").GetString()!;
            Assert.StartsWith($"1 file is left between original and stub: {path} (tier): it cannot be opened for writing (", problem, StringComparison.Ordinal);
            Assert.Contains("it carries a stub's markers: it is settled once it can be written", problem, StringComparison.Ordinal);
            Assert.Equal(1, await _gateway.Database.CountAsync($"""
                SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND host_id = '{world.HostId}'
                AND action = 'agent.operations_unsettled' AND outcome = 'failure' AND details->>'files' = '1' AND details->>'problem' LIKE '%held.bin%'
                """));
            await WaitForGaugeAsync(world, 1, agent);
            await TieringWorld.WaitForAsync(async () => (await AgentStatusSnapshot.ReadAsync(world.State, CancellationToken.None))?.UnsettledProblem == problem,
                "alto-agent status naming the file", agent);
            // Tried again every second while the volume stays read-only: still waiting, and the same error is not logged again each time.
            await Task.Delay(TimeSpan.FromSeconds(4));
            Assert.Equal(1, Occurrences(agent.Output, $"An interrupted tier of {path} cannot be settled now"));
            Assert.Contains("it stays in the journal and is tried again every 1 s", agent.Output, StringComparison.Ordinal);
            Assert.Equal(1, await _gateway.Database.CountAsync($"""
                SELECT count(*) FROM alto.audit_log WHERE host_id = '{world.HostId}' AND action = 'agent.operations_unsettled'
                """));

            // Writable again while the agent runs: its next try settles the file (a stub, as it was), with no restart, and says so.
            await RemountAsync(world, "rw");
            var settledAt = DateTimeOffset.UtcNow;
            await WaitForMetricsAsync(world, unsettled: 0, settledAt, agent);
            await TieringWorld.WaitForAsync(async () => await _gateway.Database.CountAsync($"""
                SELECT count(*) FROM alto.audit_log WHERE host_id = '{world.HostId}' AND action = 'agent.operations_settled' AND outcome = 'success' AND details->>'before' = '1'
                """) == 1, "the audit entry saying the file is settled", agent);
            await WaitForGaugeAsync(world, 0, agent);
            await TieringWorld.WaitForAsync(async () => (await AgentStatusSnapshot.ReadAsync(world.State, CancellationToken.None))?.UnsettledProblem is null,
                "alto-agent status naming nothing", agent);
            Assert.Contains($"Settled an interrupted tier of {path}: a valid stub", agent.Output, StringComparison.Ordinal);
            Assert.NotNull(LinuxStubs.Peek(path));
            Assert.Equal(sum, await TieringWorld.ReadByAnotherProgramAsync(path));
            await agent.StopAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            // Whatever happened above (read-write again already, a remount is a no-op).
            await StubFiles.ShellAsync($"mount -o remount,rw '{world.Volume.Root}'");
        }
    }

    /// <summary>
    /// The remount that cures a volume is itself the cue: the agent, watching its mount table for
    /// recall, tries the files at once instead of at the end of its retry period (an hour here).
    /// </summary>
    [Fact]
    public async Task AVolumeRemountedReadWriteHasItsFilesSettledAtOnceNotAtTheEndOfTheRetryPeriod()
    {
        await using var world = await TieringWorld.CreateAsync(_gateway);
        var (path, sum) = await StubLeftUnsettledOnAReadOnlyVolumeAsync(world);
        try
        {
            var agent = world.StartAgent("--unsettled-retry-seconds", "3600");
            await WaitForMetricsAsync(world, unsettled: 1, DateTimeOffset.UtcNow, agent);

            await RemountAsync(world, "rw");
            await TieringWorld.WaitForAsync(() => Task.FromResult(agent.Output.Contains($"Settled an interrupted tier of {path}: a valid stub", StringComparison.Ordinal)),
                "the file settled after the remount", agent);
            Assert.NotNull(LinuxStubs.Peek(path));
            Assert.Equal(sum, await TieringWorld.ReadByAnotherProgramAsync(path));
            await agent.StopAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            // Whatever happened above (read-write again already, a remount is a no-op).
            await StubFiles.ShellAsync($"mount -o remount,rw '{world.Volume.Root}'");
        }
    }

    /// <summary>
    /// A file tiered by the real agent, then left as a crash between the stub's markers and the
    /// journal's last line leaves it, on a volume that then goes read-only; the agent is stopped.
    /// </summary>
    private async Task<(string Path, string Sum)> StubLeftUnsettledOnAReadOnlyVolumeAsync(TieringWorld world)
    {
        var path = Path.Combine(world.Volume.Root, "held.bin");
        var sum = await TieringWorld.WriteOldFileAsync(path, 256);
        var agent = world.StartAgent();
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'STUBBED'") == 1, "the file stubbed", agent);
        Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(30)));
        var tierObjectId = await _gateway.Database.ScalarAsync<long>($"SELECT id FROM alto.tier_object WHERE host_id = '{world.HostId}'");
        using (var journal = new OperationJournal(world.State))
        {
            journal.Append(new JournalEntry(JournalEntry.Tier, tierObjectId, path, JournalEntry.Uploaded, world.TargetId));
        }
        // (Not chattr +i: with no agent running, an open of the stub by anyone else is refused with EIO.)
        await RemountAsync(world, "ro");
        return (path, sum);
    }

    private static async Task RemountAsync(TieringWorld world, string mode)
    {
        var remounted = await StubFiles.ShellAsync($"mount -o remount,{mode} '{world.Volume.Root}'");
        Assert.True(remounted.ExitCode == 0, remounted.Output);
    }

    private static int Occurrences(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    /// <summary>Waits for a heartbeat (seen through the host API) that reports <paramref name="unsettled"/> files; returns its metrics.</summary>
    private static async Task<JsonElement> WaitForMetricsAsync(TieringWorld world, int unsettled, DateTimeOffset started, ProgramRun agent)
    {
        JsonElement metrics = default;
        await TieringWorld.WaitForAsync(async () =>
        {
            var host = await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/hosts/{world.HostId}");
            metrics = host.GetProperty("latestMetrics");
            // A heartbeat of this agent run: the one before the restart said the opposite.
            return metrics.ValueKind == JsonValueKind.Object && metrics.GetProperty("operationsUnsettled").GetInt32() == unsettled
                && metrics.GetProperty("at").GetDateTimeOffset() > started;
        }, $"a heartbeat with {unsettled} unsettled file(s)", agent);
        return metrics;
    }

    /// <summary>Waits for the host's series (there, at 0 too, while its agent holds a session) to read <paramref name="files"/>.</summary>
    private async Task WaitForGaugeAsync(TieringWorld world, int files, ProgramRun agent) =>
        // The exporter answers from a scrape a moment old: the value shows on a later one.
        await TieringWorld.WaitForAsync(async () =>
        {
            var scrape = await _gateway.MetricsAsync();
            var host = $"host=\"{world.HostId}\"";
            return scrape.Split('\n').Any(line => line.StartsWith("alto_agent_operations_unsettled{", StringComparison.Ordinal) && line.Contains(host, StringComparison.Ordinal))
                && MetricLines.Sum(scrape, "alto_agent_operations_unsettled", host) == files;
        }, $"alto_agent_operations_unsettled at {files} in /metrics", agent);
}
