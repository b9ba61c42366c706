using Alto.Agent.Enrollment;
using Alto.TestSupport;

namespace Alto.Agent.Tests;

internal static class AgentEnrollment
{
    /// <summary>A new tenant with one host (with the given volumes), enrolled: the agent's credentials.</summary>
    public static async Task<AgentCredentials> EnrollNewHostAsync(GatewayProcess gateway, params string[] volumes)
    {
        using var admin = await AdminApi.SignInAsync(gateway.HttpUrl, GatewayProcess.AdminPassword);
        var tenant = await admin.CreateTenantAsync($"agents-{Guid.NewGuid():N}"[..24]);
        var (_, token) = await admin.RegisterHostAsync(tenant, "fs01", volumes);
        using var http = new HttpClient();
        return await new EnrollmentClient(http).EnrollAsync(gateway.HttpUrl, gateway.GrpcUrl, token, CancellationToken.None);
    }
}
