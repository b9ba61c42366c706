using System.ComponentModel.DataAnnotations;

namespace Alto.Gateway.Options;

/// <summary>How the gateway listens and whether it carries the silo in the same process.</summary>
public sealed class AltoGatewayOptions : IValidatableObject
{
    public const string Section = "Alto:Gateway";

    /// <summary>True (the single-node default): this process also runs a silo. False: an Orleans client of a separate cluster.</summary>
    public bool CoHostSilo { get; set; } = true;

    /// <summary>HTTP/1.1 endpoint: REST API, API reference, dashboard, health, metrics.</summary>
    [Required, Url]
    public string HttpUrl { get; set; } = "http://127.0.0.1:8080";

    /// <summary>Cleartext HTTP/2 (h2c) endpoint for agents' gRPC streams; it must be a port of its own.</summary>
    [Required, Url]
    public string GrpcUrl { get; set; } = "http://127.0.0.1:8081";

    /// <summary>The port of <see cref="GrpcUrl"/>.</summary>
    public int GrpcPort => Uri.TryCreate(GrpcUrl, UriKind.Absolute, out var uri) ? uri.Port : 0;

    /// <summary>The largest request body any endpoint takes (agents' scan uploads have their own limit, Alto:ScanUpload:MaxBodyBytes).</summary>
    [Range(1024, 1L << 30)]
    public long MaxRequestBodyBytes { get; set; } = 4L << 20;

    /// <summary>Plan runs (dry runs included) a tenant may start per minute, whoever starts them; more get 429.</summary>
    [Range(1, 10_000)]
    public int PlanRunsPerMinute { get; set; } = 20;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Uri.TryCreate(HttpUrl, UriKind.Absolute, out var http) && Uri.TryCreate(GrpcUrl, UriKind.Absolute, out var grpc)
            && http.Port == grpc.Port)
        {
            yield return new ValidationResult(
                "Alto:Gateway:HttpUrl and GrpcUrl must use different ports (HTTP/1.1 and h2c cannot share a cleartext port)",
                [nameof(GrpcUrl)]);
        }
    }
}
