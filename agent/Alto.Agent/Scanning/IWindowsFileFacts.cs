namespace Alto.Agent.Scanning;

/// <summary>What a Windows file system says of a file beyond its directory entry.</summary>
/// <param name="Owner">The owner from the file's security descriptor, as <c>DOMAIN\user</c> (or the SID's text when it has no name).</param>
/// <param name="FileId">The file reference number (FRN): the NTFS/ReFS file id, stable across renames.</param>
/// <param name="Attributes">The file's attributes, with the offline and recall bits a stub carries.</param>
/// <param name="Links">How many names (hard links) the file has.</param>
public readonly record struct WindowsFileFacts(string Owner, long FileId, FileAttributes Attributes, uint Links);

/// <summary>
/// The only calls of a Windows scan that need Windows (<see cref="Win32FileFacts"/>): everything
/// else of <see cref="PortableTreeWalker"/> is portable .NET enumeration and runs in the test suite
/// on Linux, where a stand-in named as such answers these.
/// </summary>
public interface IWindowsFileFacts
{
    /// <summary>
    /// How the host names a scan root (<paramref name="localRoot"/> as the walker opens it): a
    /// drive-letter or UNC path, e.g. <c>C:\Data</c> or <c>\\fs01\share</c>.
    /// </summary>
    string RootName(string localRoot);

    /// <summary>
    /// Owner, file id and attributes of a file, read without opening its data (a stub must not be
    /// recalled by a scan). <paramref name="listed"/> are the attributes its directory entry showed.
    /// </summary>
    /// <exception cref="IOException">The file vanished or cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file's attributes or security descriptor may not be read.</exception>
    WindowsFileFacts Read(string localPath, FileAttributes listed);
}

/// <summary>The attribute bits Windows stubs carry (winnt.h; EaseFilter CloudTier and Cloud Files set them).</summary>
public static class WindowsStubAttributes
{
    public const FileAttributes Offline = FileAttributes.Offline;

    /// <summary>FILE_ATTRIBUTE_RECALL_ON_OPEN: opening the file fetches it.</summary>
    public const FileAttributes RecallOnOpen = (FileAttributes)0x00040000;

    /// <summary>FILE_ATTRIBUTE_RECALL_ON_DATA_ACCESS: reading its data fetches it.</summary>
    public const FileAttributes RecallOnDataAccess = (FileAttributes)0x00400000;

    /// <summary>Whether the attributes are a stub's: its data lives elsewhere until recalled.</summary>
    public static bool IsStub(FileAttributes attributes) => (attributes & (Offline | RecallOnOpen | RecallOnDataAccess)) != 0;
}
