using System.Runtime.Versioning;
using Alto.Agent.Scanning;
using Alto.Agent.Stubs;

namespace Alto.Agent.Tests.Scanning;

/// <summary>
/// A STAND-IN for the Win32 calls of a Windows scan (no Windows machine is available here). It
/// answers what <see cref="Win32FileFacts"/> answers, as documented: the root's drive-letter name,
/// owners as DOMAIN\user (the ones a test sets, else BUILTIN\Administrators, the owner NTFS gives
/// files an administrator creates), the file id (here the inode, as unique and rename-stable as an
/// FRN), and the attributes the directory entry listed plus the offline and recall-on-data-access
/// bits EaseFilter CloudTier sets on the stubs a test names. A path the test denies fails as
/// Windows does: access denied.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class WindowsFileFactsStandIn(string localRoot, string rootName) : IWindowsFileFacts
{
    public const string DefaultOwner = @"BUILTIN\Administrators";

    public Dictionary<string, string> Owners { get; } = new(StringComparer.OrdinalIgnoreCase);

    public HashSet<string> Stubs { get; } = new(StringComparer.OrdinalIgnoreCase);

    public HashSet<string> Denied { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Called with each relative path before it is answered: a test changes the tree in the middle of a scan with it.</summary>
    public Action<string>? BeforeRead { get; set; }

    public string RootName(string localRoot1) =>
        localRoot1 == localRoot ? rootName : throw new InvalidOperationException($"{localRoot1} is not the stand-in's root");

    public WindowsFileFacts Read(string localPath, FileAttributes listed)
    {
        var relative = Path.GetRelativePath(localRoot, localPath).Replace('/', '\\');
        BeforeRead?.Invoke(relative);
        if (Denied.Contains(relative))
        {
            throw new UnauthorizedAccessException($"{localPath}: access denied");
        }
        var attributes = Stubs.Contains(relative)
            ? listed | WindowsStubAttributes.Offline | WindowsStubAttributes.RecallOnDataAccess | FileAttributes.SparseFile
            : listed;
        var status = LinuxFiles.StatPath(localPath);
        return new WindowsFileFacts(Owners.GetValueOrDefault(relative, DefaultOwner), (long)status.Inode, attributes, status.Links);
    }
}
