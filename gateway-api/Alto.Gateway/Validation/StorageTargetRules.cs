using System.Text.RegularExpressions;
using Alto.GrainInterfaces.Tenants;

namespace Alto.Gateway.Validation;

/// <summary>
/// What each kind of tier-2 target needs: a path target an absolute path; an S3 target a valid
/// bucket and, if any, a full key pair; an Azure target a container and somewhere to find it.
/// Fields of another kind are refused rather than silently kept.
/// </summary>
public static partial class StorageTargetRules
{
    public static StorageTargetKind? Kind(RequestErrors errors, string? kind)
    {
        switch (kind)
        {
            case "path": return StorageTargetKind.Path;
            case "s3": return StorageTargetKind.S3;
            case "azure": return StorageTargetKind.Azure;
            case null:
                errors.Add("kind", "kind is required: 'path', 's3' or 'azure'");
                return null;
            default:
                errors.Add("kind", $"unknown target kind '{kind}': expected 'path', 's3' or 'azure'");
                return null;
        }
    }

    /// <summary>
    /// Whether <paramref name="next"/> places the target's objects somewhere else than
    /// <paramref name="current"/>: another folder, bucket, key prefix, container, account or
    /// endpoint. Compression, path style, region and identity change how objects are written or
    /// reached, not where they are.
    /// </summary>
    public static bool PlacedElsewhere(StorageTargetSettings current, StorageTargetSettings next) =>
        !string.Equals(current.Path, next.Path, StringComparison.Ordinal)
        || !string.Equals(current.Bucket, next.Bucket, StringComparison.Ordinal)
        || !string.Equals(current.Prefix ?? "", next.Prefix ?? "", StringComparison.Ordinal)
        || !string.Equals(current.Container, next.Container, StringComparison.Ordinal)
        || !string.Equals(current.AccountUrl, next.AccountUrl, StringComparison.Ordinal)
        || !string.Equals(current.Endpoint, next.Endpoint, StringComparison.Ordinal);

    public static StorageTargetSettings? Settings(RequestErrors errors, StorageTargetKind kind, StorageTargetSettings? settings)
    {
        if (settings is null)
        {
            errors.Add("settings", "settings is required");
            return null;
        }
        var prefix = Prefix(errors, settings.Prefix);
        var compression = settings.Compression switch
        {
            null or "none" => null,
            "zstd" => "zstd",
            _ => Refuse(errors, "settings.compression", "compression must be 'zstd' or 'none'"),
        };
        return Shaped(errors, kind, settings, prefix) is { } shaped ? shaped with { Compression = compression } : null;
    }

    private static string? Refuse(RequestErrors errors, string field, string message)
    {
        errors.Add(field, message);
        return null;
    }

    private static StorageTargetSettings? Shaped(RequestErrors errors, StorageTargetKind kind, StorageTargetSettings settings, string? prefix)
    {
        switch (kind)
        {
            case StorageTargetKind.Path:
                errors.MustBeAbsent("settings.bucket", settings.Bucket, "a path target");
                errors.MustBeAbsent("settings.region", settings.Region, "a path target");
                errors.MustBeAbsent("settings.endpoint", settings.Endpoint, "a path target");
                errors.MustBeAbsent("settings.container", settings.Container, "a path target");
                errors.MustBeAbsent("settings.accountUrl", settings.AccountUrl, "a path target");
                var path = errors.AbsolutePath("settings.path", settings.Path, required: true);
                if (path is not null && TargetPlaces.PathRefusal(path) is { } misplaced)
                {
                    errors.Add("settings.path", misplaced);
                }
                if (settings.UseHostIdentity)
                {
                    errors.Add("settings.useHostIdentity", "a path target reads and writes as the agent: there is no identity to choose");
                }
                return new StorageTargetSettings(path, null, null, null, prefix, null, null, false);

            case StorageTargetKind.S3:
                errors.MustBeAbsent("settings.path", settings.Path, "an s3 target");
                errors.MustBeAbsent("settings.container", settings.Container, "an s3 target");
                errors.MustBeAbsent("settings.accountUrl", settings.AccountUrl, "an s3 target");
                var bucket = errors.Matches("settings.bucket", settings.Bucket, S3Bucket(),
                    "must be an S3 bucket name: 3-63 lowercase letters, digits, '.' or '-'", required: true);
                var region = errors.Matches("settings.region", settings.Region, Region(),
                    "must be a region name such as us-east-1", required: false);
                var endpoint = Endpoint(errors, "settings.endpoint", settings.Endpoint);
                return new StorageTargetSettings(null, bucket, region, endpoint, prefix, null, null, settings.ForcePathStyle) { UseHostIdentity = settings.UseHostIdentity };

            default:
                errors.MustBeAbsent("settings.path", settings.Path, "an azure target");
                errors.MustBeAbsent("settings.bucket", settings.Bucket, "an azure target");
                errors.MustBeAbsent("settings.region", settings.Region, "an azure target");
                errors.MustBeAbsent("settings.endpoint", settings.Endpoint, "an azure target");
                var container = errors.Matches("settings.container", settings.Container, AzureContainer(),
                    "must be an Azure container name: 3-63 lowercase letters, digits or single hyphens", required: true);
                var accountUrl = Endpoint(errors, "settings.accountUrl", settings.AccountUrl);
                return new StorageTargetSettings(null, null, null, null, prefix, container, accountUrl, false) { UseHostIdentity = settings.UseHostIdentity };
        }
    }

    /// <summary>
    /// The credentials given (or none); <paramref name="hasStored"/>: the target keeps credentials
    /// from before. A cloud target with none must say it uses the host's own identity.
    /// </summary>
    public static StorageTargetCredentials? Credentials(
        RequestErrors errors, StorageTargetKind kind, StorageTargetSettings? settings, StorageTargetCredentials? credentials, bool creating, bool hasStored = false)
    {
        if (credentials is null)
        {
            if (creating && kind == StorageTargetKind.Azure && settings?.AccountUrl is null)
            {
                errors.Add("credentials.connectionString", "an azure target needs settings.accountUrl or credentials.connectionString");
            }
            else if (kind != StorageTargetKind.Path && !hasStored && settings is { UseHostIdentity: false })
            {
                errors.Add("credentials", kind == StorageTargetKind.S3
                    ? "an s3 target needs credentials (accessKeyId and secretAccessKey), or settings.useHostIdentity: true to use the host's own AWS identity (environment, profile or instance role)"
                    : "an azure target needs credentials (connectionString, accountName with accountKey, or sasToken), or settings.useHostIdentity: true to send none");
            }
            return null;
        }
        const int secretMax = 4096;
        switch (kind)
        {
            case StorageTargetKind.Path:
                errors.Add("credentials", "a path target takes no credentials: mount the share on the host instead");
                return null;

            case StorageTargetKind.S3:
                Absent(errors, credentials.ConnectionString, credentials.AccountName, credentials.AccountKey, credentials.SasToken, "an s3 target");
                var keyId = errors.Text("credentials.accessKeyId", credentials.AccessKeyId, 256, required: true);
                var secret = errors.Text("credentials.secretAccessKey", credentials.SecretAccessKey, secretMax, required: true);
                return new StorageTargetCredentials(keyId, secret, null, null, null, null);

            default:
                errors.MustBeAbsent("credentials.accessKeyId", credentials.AccessKeyId, "an azure target");
                errors.MustBeAbsent("credentials.secretAccessKey", credentials.SecretAccessKey, "an azure target");
                var connection = errors.Text("credentials.connectionString", credentials.ConnectionString, secretMax, required: false);
                var accountName = errors.Text("credentials.accountName", credentials.AccountName, 256, required: false);
                var accountKey = errors.Text("credentials.accountKey", credentials.AccountKey, secretMax, required: false);
                var sas = errors.Text("credentials.sasToken", credentials.SasToken, secretMax, required: false);
                var ways = (string.IsNullOrEmpty(connection) ? 0 : 1)
                    + (string.IsNullOrEmpty(accountKey) ? 0 : 1)
                    + (string.IsNullOrEmpty(sas) ? 0 : 1);
                if (ways != 1)
                {
                    errors.Add("credentials", "give exactly one of connectionString, accountName with accountKey, or sasToken");
                }
                if (!string.IsNullOrEmpty(accountKey) && string.IsNullOrEmpty(accountName))
                {
                    errors.Add("credentials.accountName", "credentials.accountName is required with accountKey");
                }
                return new StorageTargetCredentials(null, null, connection, accountName, accountKey, sas);
        }
    }

    private static void Absent(RequestErrors errors, string? connectionString, string? accountName, string? accountKey, string? sas, string context)
    {
        errors.MustBeAbsent("credentials.connectionString", connectionString, context);
        errors.MustBeAbsent("credentials.accountName", accountName, context);
        errors.MustBeAbsent("credentials.accountKey", accountKey, context);
        errors.MustBeAbsent("credentials.sasToken", sas, context);
    }

    /// <summary>An http(s) URL that is not a link-local or cloud metadata address.</summary>
    private static string? Endpoint(RequestErrors errors, string field, string? value)
    {
        var url = errors.HttpUrl(field, value, required: false);
        if (url is not null && TargetPlaces.EndpointRefusal(url) is { } refusal)
        {
            errors.Add(field, refusal);
            return null;
        }
        return url;
    }

    private static string? Prefix(RequestErrors errors, string? prefix)
    {
        var text = errors.Text("settings.prefix", prefix, 512, required: false);
        if (!string.IsNullOrEmpty(text) && (text.StartsWith('/') || text.Contains("..", StringComparison.Ordinal)))
        {
            errors.Add("settings.prefix", "settings.prefix must be relative and must not contain '..'");
            return null;
        }
        return string.IsNullOrEmpty(text) ? null : text;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex S3Bucket();

    [GeneratedRegex("^[a-z]{2}(-[a-z0-9]+){1,4}$")]
    private static partial Regex Region();

    [GeneratedRegex("^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex AzureContainer();
}
