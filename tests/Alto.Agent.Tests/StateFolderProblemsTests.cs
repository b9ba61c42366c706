using Alto.Agent.Enrollment;
using Alto.TestSupport;

namespace Alto.Agent.Tests;

/// <summary>
/// The agent's commands given a state folder that is not there (a mistyped <c>--state-dir</c>) or
/// whose credential file is damaged (cut short by a full disk, edited by hand): each says what is
/// wrong and what to do, and none ends in an unhandled exception or makes a folder where none was.
/// No gateway runs: <c>status</c> is pointed at a port nothing listens on.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class StateFolderProblemsTests : IDisposable
{
    private static readonly string[] NoGateway = ["--gateway", "http://127.0.0.1:9/", "--grpc", "http://127.0.0.1:9/"];
    private readonly string _work = Directory.CreateTempSubdirectory("alto-state-problems-").FullName;
    private readonly string _agent = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");

    public void Dispose() => Directory.Delete(_work, recursive: true);

    public static TheoryData<string, string> DamagedCredentials() => new()
    {
        { "not JSON", "{\"gateway\":\"http://gw:8080/\", \"gr" },
        { "empty", "" },
        { "null", "null" },
        { "no secret", """{"gateway":"http://gw:8080/","grpc":"http://gw:8081/","hostId":"6f1c2f3e-8d0e-4f43-9d4e-2f5b7a1c9e01","tenantId":"0b8e6a1d-3c2f-4e5a-8b7c-9d0e1f2a3b4c"}""" },
        { "no host", """{"gateway":"http://gw:8080/","grpc":"http://gw:8081/","tenantId":"0b8e6a1d-3c2f-4e5a-8b7c-9d0e1f2a3b4c","credential":"secret"}""" },
        { "relative gateway", """{"gateway":"gw:8080","grpc":"http://gw:8081/","hostId":"6f1c2f3e-8d0e-4f43-9d4e-2f5b7a1c9e01","tenantId":"0b8e6a1d-3c2f-4e5a-8b7c-9d0e1f2a3b4c","credential":"secret"}""" },
    };

    [Theory]
    [MemberData(nameof(DamagedCredentials))]
    public async Task ADamagedCredentialIsNamedWithWhatToDoByEveryCommandThatReadsIt(string what, string content)
    {
        Assert.NotEmpty(what);
        var state = Path.Combine(_work, "state");
        Directory.CreateDirectory(state);
        var file = AgentCredentials.PathIn(state);
        await File.WriteAllTextAsync(file, content);
        var damaged = $"the credential file {file} is damaged (";

        foreach (var command in new[] { "run", "scan" })
        {
            await using var run = ProgramRun.Start(_agent, new Dictionary<string, string>(), command, "--state-dir", state);
            Assert.True(2 == await run.WaitForExitAsync(TimeSpan.FromSeconds(60)), run.Output);
            Assert.Contains($"alto-agent {command}: {damaged}", run.Output, StringComparison.Ordinal);
            Assert.Contains("enroll this host again with a new token (alto-agent enroll)", run.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", run.Output, StringComparison.Ordinal);
        }
        await using var status = ProgramRun.Start(_agent, new Dictionary<string, string>(), ["status", "--state-dir", state, .. NoGateway]);
        Assert.True(1 == await status.WaitForExitAsync(TimeSpan.FromSeconds(60)), status.Output);
        Assert.Contains($"enrolled:       NO: {damaged}", status.Output, StringComparison.Ordinal);
        Assert.Contains("gateway alive:  NO", status.Output, StringComparison.Ordinal);
        Assert.Equal(content, await File.ReadAllTextAsync(file));
    }

    [Fact]
    public async Task StatusSaysWhetherTheHostIsEnrolledInTheStateFolderGiven()
    {
        var missing = Path.Combine(_work, "mistyped");
        await using (var status = ProgramRun.Start(_agent, new Dictionary<string, string>(), ["status", "--state-dir", missing, .. NoGateway]))
        {
            await status.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.Contains($"enrolled:       no: no state folder at {missing} (alto-agent enroll, or give --state-dir or set ALTO_AGENT_STATE_DIR)", status.Output, StringComparison.Ordinal);
        }
        Assert.False(Directory.Exists(missing));

        var empty = Path.Combine(_work, "empty");
        Directory.CreateDirectory(empty);
        await using (var status = ProgramRun.Start(_agent, new Dictionary<string, string>(), ["status", "--state-dir", empty, .. NoGateway]))
        {
            await status.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.Contains($"enrolled:       no: no credential in {empty} (alto-agent enroll)", status.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task StatusSaysAStatusFileItCannotReadIsDamagedAndGoesOn()
    {
        var state = Path.Combine(_work, "state");
        Directory.CreateDirectory(state);
        var file = Path.Combine(state, "status.json");
        await File.WriteAllTextAsync(file, "{\"agentVersion\":\"0.1.0\",\"processId\":");

        await using var status = ProgramRun.Start(_agent, new Dictionary<string, string>(), ["status", "--state-dir", state, .. NoGateway]);

        await status.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.Contains($"agent:          the status file {file} cannot be read (", status.Output, StringComparison.Ordinal);
        Assert.Contains("gateway alive:  NO", status.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", status.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecoverGivenAStateFolderThatIsNotThereSaysSoAndMakesNone()
    {
        var missing = Path.Combine(_work, "mistyped");

        await using var recover = ProgramRun.Start(_agent, new Dictionary<string, string>(), "recover", "--state-dir", missing);

        Assert.True(2 == await recover.WaitForExitAsync(TimeSpan.FromSeconds(60)), recover.Output);
        Assert.Contains($"alto-agent recover: no state folder at {missing}, so no journal to settle", recover.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }

    /// <summary>An empty argument (a shell variable that was not set) is refused by name before anything is done, never an unhandled exception.</summary>
    [Theory]
    [InlineData("a path may not be empty", "recall", "")]
    [InlineData("a path may not be empty", "scan", "", "--dry-run")]
    [InlineData("--state-dir may not be empty", "status", "--state-dir", "")]
    [InlineData("--state-dir may not be empty", "recover", "--state-dir", "")]
    [InlineData("--token may not be empty", "enroll", "--token", "")]
    public async Task AnEmptyArgumentIsRefusedByName(string refusal, params string[] arguments)
    {
        await using var run = ProgramRun.Start(_agent, new Dictionary<string, string>(), arguments);

        Assert.NotEqual(0, await run.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(refusal, run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", run.Output, StringComparison.Ordinal);
    }
}
