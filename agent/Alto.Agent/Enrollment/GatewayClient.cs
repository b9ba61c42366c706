using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Alto.Agent.Enrollment;

/// <summary>What the gateway tells an enrolled agent about its own host.</summary>
public sealed record AgentHostInfo(Guid HostId, Guid TenantId, string Name, string[] Volumes);

/// <summary>Calls to the gateway made with the host credential.</summary>
public sealed class GatewayClient(HttpClient http, AgentCredentials credentials)
{
    public async Task<AgentHostInfo> GetOwnHostAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(credentials.Gateway, "/api/v1/agents/me"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credentials.Credential);
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new EnrollmentException($"the gateway refused this host's credential ({(int)response.StatusCode}); enroll again");
        }
        return await response.Content.ReadFromJsonAsync<AgentHostInfo>(cancellationToken)
            ?? throw new EnrollmentException("the gateway sent an empty answer");
    }
}
