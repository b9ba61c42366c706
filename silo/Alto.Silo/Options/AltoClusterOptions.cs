using System.ComponentModel.DataAnnotations;
using System.Net;

namespace Alto.Silo.Options;

/// <summary>How this process joins the Orleans cluster. The defaults make a single node on localhost.</summary>
public sealed class AltoClusterOptions : IValidatableObject
{
    public const string Section = "Alto:Cluster";

    /// <summary>Silos and clients with the same cluster id form one cluster.</summary>
    [Required, RegularExpression("^[A-Za-z0-9._-]{1,100}$", ErrorMessage = "Alto:Cluster:ClusterId must be 1-100 letters, digits, '.', '_' or '-'")]
    public string ClusterId { get; set; } = "alto";

    /// <summary>Keys persisted grain state and reminders: keep it fixed for the life of an installation.</summary>
    [Required, RegularExpression("^[A-Za-z0-9._-]{1,100}$", ErrorMessage = "Alto:Cluster:ServiceId must be 1-100 letters, digits, '.', '_' or '-'")]
    public string ServiceId { get; set; } = "alto";

    /// <summary>The address other silos and clients use to reach this silo.</summary>
    [Required]
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Listen on every local address rather than only the advertised one (containers).</summary>
    public bool ListenOnAnyAddress { get; set; }

    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port for Orleans clients (a gateway that does not co-host a silo); 0 turns it off.</summary>
    [Range(0, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// Mutual TLS on the silo and gateway ports with the installation's own certificate
    /// (ClusterSecurity.ClusterCertificate); false only where the network itself authenticates every peer.
    /// </summary>
    public bool Tls { get; set; } = true;

    /// <summary>
    /// How long a call to a grain may take before its caller gives up with a timeout (the call
    /// may still complete). An agent's report that times out is sent again, not lost.
    /// </summary>
    [Range(1, 600)]
    public int CallTimeoutSeconds { get; set; } = 30;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!IPAddress.TryParse(AdvertisedAddress, out _))
        {
            yield return new ValidationResult(
                $"Alto:Cluster:AdvertisedAddress '{AdvertisedAddress}' is not an IP address", [nameof(AdvertisedAddress)]);
        }
        if (SiloPort == GatewayPort)
        {
            yield return new ValidationResult("Alto:Cluster:SiloPort and GatewayPort must differ", [nameof(GatewayPort)]);
        }
    }
}
