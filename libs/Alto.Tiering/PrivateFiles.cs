namespace Alto.Tiering;

/// <summary>
/// Files and folders only their owner may read: tier-2 objects of a path target (copies of users'
/// files, 0600 whatever the source's mode) and the agent's state (credential, journal, reports,
/// paths, hashes, locators). On Unix they are created with these modes from the first byte, not
/// narrowed afterwards; on Windows the folder's ACL decides.
/// </summary>
public static class PrivateFiles
{
    public const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Creates a folder and its missing parents, each 0700 (.NET gives the mode to the last one only); folders that exist keep theirs.</summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        var missing = new Stack<string>();
        for (var folder = Path.GetFullPath(path); !Directory.Exists(folder); folder = Path.GetDirectoryName(folder)!)
        {
            missing.Push(folder);
        }
        while (missing.TryPop(out var folder))
        {
            Directory.CreateDirectory(folder, DirectoryMode);
        }
    }

    /// <summary>
    /// The agent's own state folder: created 0700, or narrowed to 0700 when it exists with a wider
    /// mode; on Windows its ACL is set to SYSTEM and Administrators only, inherited by everything in it.
    /// </summary>
    public static void EnsureStateDirectory(string path)
    {
        CreateDirectory(path);
        if (OperatingSystem.IsWindows())
        {
            RestrictToSystemAndAdministrators(path);
        }
        else if ((File.GetUnixFileMode(path) & ~DirectoryMode) != 0)
        {
            File.SetUnixFileMode(path, DirectoryMode);
        }
    }

    /// <summary>A protected ACL (nothing inherited from above): full control for LocalSystem and BUILTIN\Administrators, no one else.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("windows")]
    private static void RestrictToSystemAndAdministrators(string path)
    {
        var security = new System.Security.AccessControl.DirectorySecurity();
        security.SetAccessRuleProtection(isProtected: true, preserveInheritance: false);
        foreach (var account in new[] { System.Security.Principal.WellKnownSidType.LocalSystemSid, System.Security.Principal.WellKnownSidType.BuiltinAdministratorsSid })
        {
            security.AddAccessRule(new System.Security.AccessControl.FileSystemAccessRule(
                new System.Security.Principal.SecurityIdentifier(account, null),
                System.Security.AccessControl.FileSystemRights.FullControl,
                System.Security.AccessControl.InheritanceFlags.ContainerInherit | System.Security.AccessControl.InheritanceFlags.ObjectInherit,
                System.Security.AccessControl.PropagationFlags.None,
                System.Security.AccessControl.AccessControlType.Allow));
        }
        new DirectoryInfo(path).SetAccessControl(security);
    }

    /// <summary>Opens (creating as 0600 when it does not exist) a file for writing.</summary>
    public static FileStream Open(string path, System.IO.FileMode mode, int bufferSize = 4096, FileOptions options = FileOptions.None)
    {
        var settings = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = FileShare.Read, BufferSize = bufferSize, Options = options };
        if (!OperatingSystem.IsWindows())
        {
            settings.UnixCreateMode = PrivateFileMode;
        }
        return new FileStream(path, settings);
    }

    /// <summary>
    /// Replaces a whole file so that a crash leaves either the old text or the new one: written to
    /// a new file (0600) and flushed to disk before it is renamed over the old. A rename without the
    /// flush can be committed before the data, leaving an empty file after a power loss (XFS makes
    /// no guess to prevent it).
    /// </summary>
    public static void ReplaceDurably(string path, string text)
    {
        var fresh = path + ".new";
        using (var file = Open(fresh, System.IO.FileMode.Create))
        {
            file.Write(System.Text.Encoding.UTF8.GetBytes(text));
            file.Flush(flushToDisk: true);
        }
        File.Move(fresh, path, overwrite: true);
    }

    /// <summary>Writes a whole file (created 0600, or replaced in place keeping its mode).</summary>
    public static void WriteAllText(string path, string text)
    {
        using var file = Open(path, System.IO.FileMode.Create);
        using var writer = new StreamWriter(file);
        writer.Write(text);
    }
}
