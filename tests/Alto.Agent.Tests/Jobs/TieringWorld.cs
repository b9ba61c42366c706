using System.Runtime.Versioning;
using System.Text.Json;
using Alto.Agent.Enrollment;
using Alto.Agent.Tests.Stubs;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// One tenant ready to tier through a real gateway and the real agent: a path target, a rule
/// ("modified over 30 days ago" — reads by other programs do not make a file warm), a host whose
/// volume is a loop-mounted ext4 of its own, and the agent enrolled in a state folder. Plans go
/// out at once and take files of any size (the safe defaults have tests of their own).
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class TieringWorld : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    public static readonly string AgentDll = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");

    private readonly List<ProgramRun> _agents = [];

    private TieringWorld(GatewayProcess gateway, ScratchFileSystem volume, string work, AdminApi admin)
    {
        Gateway = gateway;
        Volume = volume;
        Work = work;
        Admin = admin;
    }

    public GatewayProcess Gateway { get; }

    public ScratchFileSystem Volume { get; }

    /// <summary>A folder outside the volume (on the root file system): state, tier 2, scratch files of the test.</summary>
    public string Work { get; }

    public string State => Path.Combine(Work, "state");

    public AdminApi Admin { get; }

    public Guid TenantId { get; private set; }

    public Guid TargetId { get; private set; }

    public Guid HostId { get; private set; }

    public AgentCredentials Credentials { get; private set; } = null!;

    /// <summary>
    /// Sets it all up; <paramref name="tier2"/> is the target's folder (default: one in <see cref="Work"/>),
    /// or <paramref name="target"/> the whole target to create (an S3 or Azure one);
    /// <paramref name="grpc"/> the agent's gRPC address (default: the gateway's own).
    /// </summary>
    public static async Task<TieringWorld> CreateAsync(GatewayProcess gateway, string? tier2 = null, Uri? grpc = null, int volumeMegabytes = 256,
        object? target = null)
    {
        var volume = ScratchFileSystem.TryCreate(out var whyNot, volumeMegabytes) ?? throw new InvalidOperationException(whyNot);
        var work = Directory.CreateTempSubdirectory("alto-world-").FullName;
        var world = new TieringWorld(gateway, volume, work, await AdminApi.SignInAsync(gateway.HttpUrl, GatewayProcess.AdminPassword));
        world.TenantId = await world.Admin.CreateTenantAsync($"world-{Guid.NewGuid():N}"[..24], tierAtOnce: true);
        tier2 ??= Directory.CreateDirectory(Path.Combine(work, "tier2")).FullName;
        world.TargetId = (await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/targets", target ?? new { name = "nas", kind = "path", settings = new { path = tier2 } }))
            .GetProperty("id").GetGuid();
        await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/rules",
            new { name = "old", targetId = world.TargetId, criteria = new { modifiedOlderThanDays = 30 } });
        var (hostId, token) = await world.Admin.RegisterHostAsync(world.TenantId, "fs-world", volume.Root);
        world.HostId = hostId;
        using var http = new HttpClient();
        world.Credentials = await new EnrollmentClient(http).EnrollAsync(gateway.HttpUrl, grpc ?? gateway.GrpcUrl, token, CancellationToken.None);
        await world.Credentials.SaveAsync(world.State, CancellationToken.None);
        return world;
    }

    /// <summary>Starts <c>alto-agent run</c> on the world's state folder.</summary>
    public ProgramRun StartAgent(params string[] options)
    {
        var agent = ProgramRun.Start(AgentDll, new Dictionary<string, string>(), ["run", "--state-dir", State, .. options]);
        _agents.Add(agent);
        return agent;
    }

    /// <summary>Runs <c>alto-agent scan</c> (the host's volumes, or the given folders) to the end.</summary>
    public async Task ScanAsync(params string[] folders)
    {
        await using var scan = ProgramRun.Start(AgentDll, new Dictionary<string, string>(), ["scan", .. folders, "--state-dir", State]);
        Assert.True(0 == await scan.WaitForExitAsync(Patience), scan.Output);
    }

    /// <summary>Writes a file by another program (the shell), with a modification time years ago; returns its SHA-256.</summary>
    public static async Task<string> WriteOldFileAsync(string path, int kilobytes)
    {
        var written = await StubFiles.ShellAsync($"head -c {kilobytes * 1024} /dev/urandom > '{path}' && touch -m -d 2020-01-01 '{path}' && sha256sum '{path}'");
        Assert.True(written.ExitCode == 0, written.Output);
        return written.Output[..64];
    }

    /// <summary>The SHA-256 another program (sha256sum) reads from the file, or its error.</summary>
    public static async Task<string> ReadByAnotherProgramAsync(string path)
    {
        var read = await StubFiles.ShellAsync($"sha256sum '{path}'");
        return read.ExitCode == 0 ? read.Output[..64] : read.Output;
    }

    public Task<long> CountAsync(string where) =>
        Gateway.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{HostId}' AND {where}");

    /// <summary>Waits for a condition, failing with what it was and the agent's output.</summary>
    public static async Task WaitForAsync(Func<Task<bool>> condition, string what, ProgramRun? agent)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what} did not happen in time; agent output:\n{agent?.Output}");
            await Task.Delay(200);
        }
    }

    /// <summary>Waits until the host's last heartbeat reports recall on its volume as <paramref name="armed"/>; returns the volume as reported.</summary>
    public async Task<JsonElement> WaitForRecallAsync(bool armed, ProgramRun agent)
    {
        JsonElement volume = default;
        await WaitForAsync(async () =>
        {
            var host = await Admin.GetAsync($"/api/v1/tenants/{TenantId}/hosts/{HostId}");
            if (!host.TryGetProperty("latestMetrics", out var metrics) || metrics.ValueKind != JsonValueKind.Object
                || metrics.GetProperty("volumes").GetArrayLength() == 0)
            {
                return false;
            }
            volume = metrics.GetProperty("volumes")[0];
            return volume.GetProperty("recallArmed").GetBoolean() == armed && metrics.GetProperty("recallSurvivesRestart").GetBoolean() == armed;
        }, $"a heartbeat with recall {(armed ? "armed" : "not armed")}", agent);
        return volume;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await ((Task)agent.StopAsync(TimeSpan.FromSeconds(30))).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await agent.DisposeAsync();
        }
        Admin.Dispose();
        // The state folder goes first: the recall guard sees that and ends, and then the volume is unmounted.
        await AgentStateFolder.DeleteAsync(State);
        Directory.Delete(Work, true);
        Volume.Dispose();
    }
}
