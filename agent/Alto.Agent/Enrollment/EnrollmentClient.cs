using System.Net.Http.Json;
using System.Text.Json;

namespace Alto.Agent.Enrollment;

public sealed class EnrollmentException(string message) : Exception(message);

/// <summary>Exchanges a one-time enrollment token for this host's credential.</summary>
public sealed class EnrollmentClient(HttpClient http)
{
    public async Task<AgentCredentials> EnrollAsync(Uri gateway, Uri grpc, string token, CancellationToken cancellationToken)
    {
        var version = typeof(EnrollmentClient).Assembly.GetName().Version?.ToString() ?? "0.0.0";
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsJsonAsync(
                new Uri(gateway, "/api/v1/agents/enroll"),
                new { token, agentVersion = version, machineName = Environment.MachineName },
                cancellationToken);
        }
        catch (HttpRequestException exception)
        {
            throw new EnrollmentException($"cannot reach the gateway at {gateway}: {exception.Message}");
        }
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new EnrollmentException($"enrollment refused ({(int)response.StatusCode}): {ProblemDetail(body)}");
            }
            var answer = JsonSerializer.Deserialize<EnrollAnswer>(body, JsonSerializerOptions.Web)
                ?? throw new EnrollmentException("the gateway sent an empty answer");
            return new AgentCredentials(gateway, grpc, answer.HostId, answer.TenantId, answer.Credential);
        }
    }

    /// <summary>
    /// Uses the stored credential once (asking for the host's own record): that completes the
    /// enrollment and spends the token. Until then the same token may be redeemed again.
    /// </summary>
    public async Task ConfirmAsync(AgentCredentials credentials, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(credentials.Gateway, "/api/v1/agents/me"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", credentials.Credential);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException exception)
        {
            throw new EnrollmentException($"the credential is stored, but the gateway could not be reached to confirm it ({exception.Message}); 'alto-agent run' confirms it");
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new EnrollmentException(
                    $"the gateway did not accept the new credential ({(int)response.StatusCode}): {ProblemDetail(await response.Content.ReadAsStringAsync(cancellationToken))}");
            }
        }
    }

    private static string ProblemDetail(string body)
    {
        try
        {
            using var problem = JsonDocument.Parse(body);
            return problem.RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() ?? body : body;
        }
        catch (JsonException)
        {
            return body;
        }
    }

    private sealed record EnrollAnswer(Guid HostId, Guid TenantId, string Credential);
}
