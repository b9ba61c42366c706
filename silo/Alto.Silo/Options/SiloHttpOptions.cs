using System.ComponentModel.DataAnnotations;

namespace Alto.Silo.Options;

/// <summary>The standalone silo's own HTTP endpoint: health and metrics.</summary>
public sealed class SiloHttpOptions
{
    public const string Section = "Alto:Silo";

    [Required, Url]
    public string HttpUrl { get; set; } = "http://127.0.0.1:8090";
}
