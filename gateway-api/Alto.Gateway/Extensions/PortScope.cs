using Alto.Gateway.Options;
using Grpc.AspNetCore.Server;
using Microsoft.Extensions.Options;

namespace Alto.Gateway.Extensions;

/// <summary>
/// Each port serves its own kind of endpoint: the agents' h2c port gRPC only, the HTTP port
/// everything but gRPC. Anything else is answered 404 before authentication, as if it did not
/// exist there. (The port a request arrived on is the connection's, not its Host header, which
/// the caller writes.)
/// </summary>
public static class PortScope
{
    public static Task KeepToItsPortAsync(HttpContext http, RequestDelegate next)
    {
        var grpcPort = http.RequestServices.GetRequiredService<IOptions<AltoGatewayOptions>>().Value.GrpcPort;
        var onGrpcPort = http.Connection.LocalPort == grpcPort;
        var isGrpc = http.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is not null;
        if (onGrpcPort != isGrpc)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        return next(http);
    }
}
