using System.Text.Json;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Alto.Agent.Connection;

/// <summary>What the agent learns by asking a gateway whether it is up, on both of its ports.</summary>
public sealed record GatewayStatus(bool Alive, bool Ready, string ReadinessReport, bool GrpcServing, string GrpcReport)
{
    public bool Healthy => Alive && Ready && GrpcServing;
}

/// <summary>
/// Probes a gateway: /healthz and /readyz on its HTTP/1.1 port, and the standard gRPC health
/// service on its h2c port — the port the agent's session stream will use.
/// </summary>
public sealed class GatewayProbe(HttpClient http)
{
    public async Task<GatewayStatus> ProbeAsync(Uri gateway, Uri grpc, CancellationToken cancellationToken)
    {
        var alive = await GetAsync(new Uri(gateway, "/healthz"), cancellationToken);
        var ready = await GetAsync(new Uri(gateway, "/readyz"), cancellationToken);
        var (serving, grpcReport) = await CheckGrpcAsync(grpc, cancellationToken);
        return new GatewayStatus(alive.Ok, ready.Ok, Summarize(ready.Body), serving, grpcReport);
    }

    private async Task<(bool Ok, string Body)> GetAsync(Uri uri, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(uri, cancellationToken);
            return (response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
        }
        catch (HttpRequestException exception)
        {
            return (false, exception.Message);
        }
    }

    private static async Task<(bool Serving, string Report)> CheckGrpcAsync(Uri grpc, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress(grpc);
        try
        {
            var reply = await new Health.HealthClient(channel).CheckAsync(
                new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
            return (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving, reply.Status.ToString());
        }
        catch (RpcException exception)
        {
            return (false, $"{exception.StatusCode}: {exception.Status.Detail}");
        }
    }

    /// <summary>
    /// Turns the readiness JSON into "database: Healthy, cluster: Healthy", or into "status: Healthy"
    /// when the gateway keeps the detail of its checks to platform admins (as it does for the agent).
    /// </summary>
    private static string Summarize(string readiness)
    {
        try
        {
            using var document = JsonDocument.Parse(readiness);
            if (!document.RootElement.TryGetProperty("checks", out var detail))
            {
                return $"status: {document.RootElement.GetProperty("status").GetString()}";
            }
            var checks = detail.EnumerateObject()
                .Select(check => $"{check.Name}: {check.Value.GetProperty("status").GetString()}");
            return string.Join(", ", checks);
        }
        catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return readiness.Length > 200 ? readiness[..200] : readiness;
        }
    }
}
