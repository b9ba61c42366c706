using Microsoft.Extensions.Options;

namespace Alto.Audit;

/// <summary>
/// The optional SIEM forwarder (Alto:Audit:Forward): new audit entries of every chain are shipped
/// in order to an HTTP endpoint (POSTed as JSON Lines) or a syslog server (RFC 5424 over TCP),
/// resuming where it got to after any outage or restart. Off unless a kind is set.
/// </summary>
public sealed class AuditForwardOptions
{
    public const string Section = "Alto:Audit:Forward";

    /// <summary>"none" (the default), "http", "syslog" (TCP) or "relp" (at least once to rsyslog's imrelp).</summary>
    public string Kind { get; set; } = "none";

    /// <summary>Keeps the cursors of two forwarders apart when an installation changes where it forwards.</summary>
    public string Name { get; set; } = "default";

    /// <summary>http: the collector's URL.</summary>
    public string? Url { get; set; }

    /// <summary>http: the Authorization header to send (e.g. "Splunk &lt;token&gt;" or "Bearer &lt;token&gt;").</summary>
    public string? Authorization { get; set; }

    /// <summary>syslog and relp: host:port of the receiver.</summary>
    public string? Address { get; set; }

    /// <summary>syslog and relp: over TLS (RFC 5425), the receiver's certificate checked.</summary>
    public bool Tls { get; set; }

    /// <summary>syslog and relp with TLS: the CA (PEM) the receiver's certificate must chain to; the system's roots when not given.</summary>
    public string? CaFile { get; set; }

    /// <summary>syslog and relp with TLS: the name the receiver's certificate must carry, when it is not the host of Address.</summary>
    public string? ServerName { get; set; }

    public int BatchSize { get; set; } = 500;

    /// <summary>How often new entries are looked for.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between tries while the endpoint is down.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(1);

    public bool Enabled => Kind != "none";

    public IEnumerable<string> Problems()
    {
        switch (Kind)
        {
            case "none":
                break;
            case "http" when !Uri.TryCreate(Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"):
                yield return "Alto:Audit:Forward:Url must be the collector's http(s) URL";
                break;
            case "syslog" or "relp" when !TrySplitAddress(Address, out _, out _):
                yield return $"Alto:Audit:Forward:Address must be host:port of a TCP {Kind} receiver";
                break;
            case "http" or "syslog" or "relp":
                break;
            default:
                yield return $"Alto:Audit:Forward:Kind must be none, http, syslog or relp, not '{Kind}'";
                break;
        }
        if (Tls && Kind is not ("syslog" or "relp"))
        {
            yield return "Alto:Audit:Forward:Tls is for syslog and relp (http is secured by an https Url)";
        }
        if (CaFile is { Length: > 0 } && !File.Exists(CaFile))
        {
            yield return $"Alto:Audit:Forward:CaFile {CaFile} does not exist";
        }
        if (BatchSize is < 1 or > 10_000)
        {
            yield return "Alto:Audit:Forward:BatchSize must be between 1 and 10000";
        }
        if (Interval <= TimeSpan.Zero || MaxBackoff < Interval)
        {
            yield return "Alto:Audit:Forward:Interval must be positive and MaxBackoff at least as long";
        }
    }

    public static bool TrySplitAddress(string? address, out string host, out int port)
    {
        host = "";
        port = 0;
        var colon = address?.LastIndexOf(':') ?? -1;
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            return false;
        }
        host = address![..colon];
        return true;
    }
}

public sealed class AuditForwardOptionsValidation : IValidateOptions<AuditForwardOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditForwardOptions options) =>
        options.Problems().ToList() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}
