using System.Text.Json;

namespace Alto.Agent.Enrollment;

/// <summary>What an enrolled agent keeps on disk: where its gateway is, who it is, and its secret.</summary>
public sealed record AgentCredentials(Uri Gateway, Uri Grpc, Guid HostId, Guid TenantId, string Credential)
{
    public const string FileName = "credential.json";

    /// <summary>Only the agent's own user may read the secret.</summary>
    public const UnixFileMode CredentialFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static string PathIn(string stateDirectory) => Path.Combine(stateDirectory, FileName);

    /// <summary>Writes atomically (temporary file, then rename) with mode 0600 from the first byte.</summary>
    public async Task SaveAsync(string stateDirectory, CancellationToken cancellationToken)
    {
        Tiering.PrivateFiles.EnsureStateDirectory(stateDirectory);
        var target = PathIn(stateDirectory);
        var temporary = target + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = CredentialFileMode;
        }
        await using (var stream = new FileStream(temporary, options))
        {
            await JsonSerializer.SerializeAsync(stream, this, Json, cancellationToken);
            await stream.FlushAsync(cancellationToken);
            stream.Flush(flushToDisk: true);
        }
        if (!OperatingSystem.IsWindows())
        {
            // An existing temporary file keeps its old mode on create: set it explicitly.
            File.SetUnixFileMode(temporary, CredentialFileMode);
        }
        File.Move(temporary, target, overwrite: true);
    }

    /// <summary>The credential kept in the state folder, or null when this host has not enrolled there.</summary>
    /// <exception cref="InvalidDataException">The file cannot be read, or is damaged or incomplete: the message says which and what to do.</exception>
    public static async Task<AgentCredentials?> LoadAsync(string stateDirectory, CancellationToken cancellationToken)
    {
        var path = PathIn(stateDirectory);
        if (!File.Exists(path))
        {
            return null;
        }
        AgentCredentials? loaded;
        try
        {
            await using var stream = File.OpenRead(path);
            loaded = await JsonSerializer.DeserializeAsync<AgentCredentials>(stream, Json, cancellationToken);
        }
        catch (UnauthorizedAccessException)
        {
            throw new InvalidDataException($"cannot read the credential file {path}: it is readable by its owner only (run as root, or as the agent's user)");
        }
        catch (Exception exception) when (exception is JsonException or IOException)
        {
            throw Damaged(path, exception.Message);
        }
        return loaded switch
        {
            null => throw Damaged(path, "it holds no credential"),
            { Gateway: not { IsAbsoluteUri: true, Scheme: "http" or "https" } } or { Grpc: not { IsAbsoluteUri: true, Scheme: "http" or "https" } } =>
                throw Damaged(path, "its gateway addresses are missing or not absolute http(s) URLs"),
            { HostId: var host, TenantId: var tenant } when host == Guid.Empty || tenant == Guid.Empty => throw Damaged(path, "its host or tenant id is missing"),
            { Credential: null or { Length: 0 } } => throw Damaged(path, "its secret is missing"),
            _ => loaded,
        };
    }

    private static InvalidDataException Damaged(string path, string why) =>
        new($"the credential file {path} is damaged ({why}); enroll this host again with a new token (alto-agent enroll)");
}
