using System.ComponentModel.DataAnnotations;
using Npgsql;

namespace Alto.Silo.Options;

/// <summary>The PostgreSQL database holding Alto's core, staging and Orleans tables.</summary>
public sealed class DatabaseOptions : IValidatableObject
{
    public const string Section = "Alto:Database";

    /// <summary>Orleans' ADO.NET providers use this invariant to find Npgsql.</summary>
    public const string NpgsqlInvariant = "Npgsql";

    /// <summary>Npgsql connection string. The default matches scripts/services.sh.</summary>
    [Required]
    public string ConnectionString { get; set; } = "Host=127.0.0.1;Port=55432;Database=alto;Username=postgres";

    /// <summary>Seconds to wait for a connection before a start-up fails.</summary>
    [Range(1, 600)]
    public int ConnectTimeoutSeconds { get; set; } = 10;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        string? problem = null;
        try
        {
            var parsed = new NpgsqlConnectionStringBuilder(ConnectionString);
            if (string.IsNullOrWhiteSpace(parsed.Host))
            {
                problem = "Alto:Database:ConnectionString has no Host";
            }
        }
        catch (ArgumentException exception)
        {
            problem = $"Alto:Database:ConnectionString is not a valid connection string: {exception.Message}";
        }
        if (problem is not null)
        {
            yield return new ValidationResult(problem, [nameof(ConnectionString)]);
        }
    }
}
