using System.ComponentModel.DataAnnotations;

namespace Alto.Silo.Options;

/// <summary>
/// Who may read <c>/metrics</c> (its labels name hosts, tenants' volumes and the cluster's
/// layout). Either a listener of its own (<see cref="Url"/>, bound where only the scraper
/// reaches, anonymous there), or a scrape token on the main port (<see cref="TokenSha256"/>:
/// the configuration holds only the token's SHA-256; Prometheus sends the token as a bearer
/// credential). On the gateway a signed-in platform admin may read it too. Nobody else.
/// </summary>
public sealed class MetricsOptions : IValidatableObject
{
    public const string Section = "Alto:Metrics";

    /// <summary>A separate HTTP/1.1 listener that serves /metrics only, to anyone who reaches it; unset: none.</summary>
    [Url]
    public string? Url { get; set; }

    /// <summary>The SHA-256 (64 hex digits) of a bearer token that may read /metrics on the main port; unset: none.</summary>
    [RegularExpression("^[0-9a-fA-F]{64}$", ErrorMessage = "Alto:Metrics:TokenSha256 must be 64 hexadecimal digits (the SHA-256 of the scrape token)")]
    public string? TokenSha256 { get; set; }

    /// <summary>The port of <see cref="Url"/>, or 0 when there is no listener of its own.</summary>
    public int Port => Url is not null && Uri.TryCreate(Url, UriKind.Absolute, out var uri) ? uri.Port : 0;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Url is not null && Uri.TryCreate(Url, UriKind.Absolute, out var uri) && uri.Scheme != Uri.UriSchemeHttp)
        {
            yield return new ValidationResult("Alto:Metrics:Url must be an http:// address (bind it where only the scraper reaches)", [nameof(Url)]);
        }
    }
}
