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

    public static async Task<AgentCredentials?> LoadAsync(string stateDirectory, CancellationToken cancellationToken)
    {
        var path = PathIn(stateDirectory);
        if (!File.Exists(path))
        {
            return null;
        }
        await using var stream = File.OpenRead(path);
        return await JsonSerializer.DeserializeAsync<AgentCredentials>(stream, Json, cancellationToken);
    }
}
