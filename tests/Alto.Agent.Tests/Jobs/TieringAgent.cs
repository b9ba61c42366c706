using Alto.Agent.Enrollment;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Jobs;

/// <summary>The real agent on a host registered through the API: enrolled, one scan, then running until it tiered what the plan gave it.</summary>
internal static class TieringAgent
{
    /// <summary>Enrolls with <paramref name="token"/> into <paramref name="state"/>, scans once (the scan's plan goes out) and starts <c>alto-agent run</c>.</summary>
    public static async Task<ProgramRun> EnrollScanAndRunAsync(GatewayProcess gateway, string token, string state, TimeSpan patience)
    {
        using var http = new HttpClient();
        var credentials = await new EnrollmentClient(http).EnrollAsync(gateway.HttpUrl, gateway.GrpcUrl, token, CancellationToken.None);
        await credentials.SaveAsync(state, CancellationToken.None);
        var agentDll = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
        await using (var scan = ProgramRun.Start(agentDll, new Dictionary<string, string>(), "scan", "--state-dir", state))
        {
            Assert.True(0 == await scan.WaitForExitAsync(patience), scan.Output);
        }
        return ProgramRun.Start(agentDll, new Dictionary<string, string>(), "run", "--state-dir", state);
    }

    /// <summary>Waits until <paramref name="count"/> of the host's tier objects are STUBBED.</summary>
    public static async Task WaitForStubbedAsync(GatewayProcess gateway, Guid hostId, int count, ProgramRun agent, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (await gateway.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{hostId}' AND state = 'STUBBED'") < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the files were not stubbed in time; agent output:\n{agent.Output}");
            await Task.Delay(250);
        }
    }
}
