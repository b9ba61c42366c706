using System.Collections.Concurrent;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tenants;
using Alto.GrainInterfaces.Tiers;
using Alto.TestSupport;

namespace Alto.Grains.Tests.Planning;

/// <summary>
/// The gateway's part in dispatch, played by a test against any cluster: hosts with planned files,
/// sessions whose observer records the jobs sent, and the results a stand-in agent reports.
/// </summary>
internal sealed class DispatchRig(IClusterClient client, TestDatabase database)
{
    private readonly List<(IHostGrain Host, Guid SessionId, IAgentSessionObserver Observer)> _sessions = [];

    /// <summary>The session <see cref="ConnectAsync(PlanningWorld, string, AgentMetrics)"/> opened last, for heartbeats of a test's own.</summary>
    public (Guid SessionId, string Credential) LastSession { get; private set; }

    /// <summary>
    /// Sessions are closed and their observers released: a grain must not keep re-sending jobs to
    /// this client's observers until the shared cluster shuts down (a late message to a disposed
    /// client takes the test host down).
    /// </summary>
    public async Task CloseSessionsAsync()
    {
        foreach (var (host, sessionId, observer) in _sessions)
        {
            await host.CloseSessionAsync(sessionId);
            client.DeleteObjectReference<IAgentSessionObserver>(observer);
        }
    }

    public async Task<(PlanningWorld World, string Credential)> PlannedHostAsync(
        PlanApproval approval = PlanApproval.Auto, string[]? volumes = null, string[]? paths = null)
    {
        var world = await PlanningWorld.CreateAsync(client, database, approval: approval);
        if (volumes is not null)
        {
            Assert.True((await world.Host.SetVolumesAsync(volumes)).Succeeded);
        }
        var credential = await EnrollAsync(world);
        await world.AddRuleAsync("all", RuleCriteria.None with { MinSizeBytes = 0 });
        paths ??= [.. Enumerable.Range(0, 3).Select(i => $"/srv/f{i}.bin")];
        await world.AddFilesAsync([.. paths.Select((path, i) => new InventoryFile(path, 10 + i, 90 * PlanningWorld.Day, 90 * PlanningWorld.Day))]);
        Assert.True((await world.Inventory.PlanAsync(dryRun: false)).Succeeded);
        return (world, credential);
    }

    /// <summary>Enrolls the world's host as its agent would: the credential its sessions present.</summary>
    public static async Task<string> EnrollAsync(PlanningWorld world)
    {
        var token = (await world.Host.RenewEnrollmentTokenAsync(TimeSpan.FromHours(1))).Value!.EnrollmentToken;
        return (await world.Host.EnrollAsync(new EnrollHost(token, "1.0", "fs"))).Value!.Credential;
    }

    public Task<RecordingSession> ConnectAsync(PlanningWorld world, string credential) => ConnectAsync(world, credential, PlanningWorld.ArmedMetrics());

    public async Task<RecordingSession> ConnectAsync(PlanningWorld world, string credential, AgentMetrics firstHeartbeat)
    {
        var session = new RecordingSession();
        var sessionId = Guid.NewGuid();
        Assert.Equal(SessionStanding.Current, await OpenAsync(world, credential, sessionId, TimeSpan.FromMinutes(5), session));
        Assert.Equal(SessionStanding.Current, await world.Host.HeartbeatAsync(sessionId, credential, firstHeartbeat));
        LastSession = (sessionId, credential);
        return session;
    }

    /// <summary>Opens a session of the world's host through <paramref name="session"/>, as the gateway does; <see cref="CloseSessionsAsync"/> closes it.</summary>
    public Task<SessionStanding> OpenAsync(PlanningWorld world, string credential, Guid sessionId, TimeSpan heartbeatTimeout, RecordingSession session)
    {
        var observer = client.CreateObjectReference<IAgentSessionObserver>(session);
        _sessions.Add((world.Host, sessionId, observer));
        return world.Host.OpenSessionAsync(
            new AgentSession(sessionId, "test-gateway", "1.0", "linux", [], DateTimeOffset.UtcNow), credential, heartbeatTimeout, observer);
    }

    public static async Task<TierJobPayload[]> WaitForJobsAsync(RecordingSession session, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (session.Jobs.Count < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{session.Jobs.Count} of {count} deliveries arrived");
            await Task.Delay(50);
        }
        return [.. session.Jobs];
    }

    /// <summary>Waits for a job not seen before (lease re-sends of earlier jobs are passed over) and marks it seen.</summary>
    public static async Task<TierJobPayload> NextNewJobAsync(RecordingSession session, HashSet<Guid> seen)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (session.Jobs.FirstOrDefault(job => !seen.Contains(job.JobId)) is { } job)
            {
                seen.Add(job.JobId);
                return job;
            }
            Assert.True(DateTime.UtcNow < deadline, $"no new job came; {seen.Count} so far");
            await Task.Delay(50);
        }
    }

    public static async Task ReportAsync(PlanningWorld world, TierJobPayload job, TierFileOutcome outcome) =>
        Assert.Null(await world.Host.RecordJobResultsAsync(Guid.NewGuid().ToString("N"), job.JobId,
            [.. job.Files.Select(file => outcome == TierFileOutcome.Stubbed
                ? new TierFileResult(file.TierObjectId, outcome, new string('a', 64), $"objects/{file.TierObjectId}", null)
                : new TierFileResult(file.TierObjectId, outcome, null, null, "tier 2 refused the write (stand-in agent)"))],
            finished: true));
}

/// <summary>A session observer that records the jobs the host sends.</summary>
internal sealed class RecordingSession : IAgentSessionObserver
{
    public ConcurrentQueue<TierJobPayload> Jobs { get; } = new();

    public Task DeliverAsync(AgentCommand command) => Task.CompletedTask;

    public Task DeliverJobAsync(TierJobPayload job)
    {
        Jobs.Enqueue(job);
        return Task.CompletedTask;
    }

    /// <summary>The jobs the host told the agent to cancel.</summary>
    public ConcurrentQueue<Guid> Cancelled { get; } = new();

    public Task CancelJobAsync(Guid jobId)
    {
        Cancelled.Enqueue(jobId);
        return Task.CompletedTask;
    }

    public Task ConfigureAsync(string[] volumes, long bandwidthLimitBytesPerSecond, LucidLinkVolume? lucidLink) => Task.CompletedTask;

    public Task EndAsync(SessionStanding standing, string reason) => Task.CompletedTask;
}
