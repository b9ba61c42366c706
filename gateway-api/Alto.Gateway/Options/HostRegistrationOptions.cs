using System.ComponentModel.DataAnnotations;

namespace Alto.Gateway.Options;

public sealed class HostRegistrationOptions : IValidatableObject
{
    public const string Section = "Alto:Hosts";

    /// <summary>How long a one-time enrollment token stays usable after the host is registered.</summary>
    public TimeSpan EnrollmentTokenLifetime { get; set; } = TimeSpan.FromHours(24);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (EnrollmentTokenLifetime < TimeSpan.FromMinutes(1) || EnrollmentTokenLifetime > TimeSpan.FromDays(30))
        {
            yield return new ValidationResult(
                "Alto:Hosts:EnrollmentTokenLifetime must be between 00:01:00 and 30.00:00:00", [nameof(EnrollmentTokenLifetime)]);
        }
    }
}
