using System.Security.Cryptography;

namespace Alto.Keys;

/// <summary>
/// The local keyring's master key: from <c>ALTO_MASTER_KEY</c> (base64 of 32 bytes), else from
/// its file, which is generated at first start readable by its owner only (0600). A file that
/// others may read is refused rather than used.
/// </summary>
public static class MasterKey
{
    public const int Length = 32;

    /// <summary>The installation's master key; generated into its file at first start.</summary>
    public static byte[] Load(KeyOptions options, Func<string, string?>? environment = null)
    {
        if ((environment ?? Environment.GetEnvironmentVariable)(KeyOptions.MasterKeyVariable) is { Length: > 0 } fromEnvironment)
        {
            return Decode(fromEnvironment, KeyOptions.MasterKeyVariable);
        }
        var path = options.MasterKeyFile;
        if (!File.Exists(path))
        {
            Create(path);
        }
        return ReadFile(path);
    }

    /// <summary>A master key from its file, which must exist and be its owner's alone.</summary>
    public static byte[] ReadFile(string path)
    {
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
        {
            throw new InvalidOperationException($"the master key file {path} may be read or written by others; make it 0600 (chmod 600 {path})");
        }
        return Decode(File.ReadAllText(path), path);
    }

    private static void Create(string path)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(folder);
        // Written under another name and moved in place: two processes starting together end up with one key.
        var temporary = Path.Combine(folder, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var file = new StreamWriter(temporary, options))
        {
            file.Write(Convert.ToBase64String(RandomNumberGenerator.GetBytes(Length)));
        }
        try
        {
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
        }
    }

    /// <summary>A master key given as text (base64 of 32 bytes); <paramref name="source"/> names it in the error.</summary>
    public static byte[] Decode(string text, string source)
    {
        try
        {
            var key = Convert.FromBase64String(text.Trim());
            return key.Length == Length ? key : throw new FormatException();
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"the master key in {source} must be base64 of exactly {Length} bytes");
        }
    }
}
