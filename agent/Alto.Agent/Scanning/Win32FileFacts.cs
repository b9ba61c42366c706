using System.Collections.Concurrent;
using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.Principal;
using Microsoft.Win32.SafeHandles;

namespace Alto.Agent.Scanning;

/// <summary>
/// <see cref="IWindowsFileFacts"/> from Win32 (fileapi.h, aclapi.h): the file is opened for its
/// attributes and security descriptor only, with <c>FILE_FLAG_OPEN_NO_RECALL</c> and
/// <c>FILE_FLAG_OPEN_REPARSE_POINT</c>, so neither a stub is recalled nor a link followed; the FRN
/// and attributes come from <c>GetFileInformationByHandle</c>, the owner from
/// <c>GetSecurityInfo</c>, named once per SID.
/// </summary>
[SupportedOSPlatform("windows")]
public sealed partial class Win32FileFacts : IWindowsFileFacts
{
    private const uint FileReadAttributes = 0x0080;
    private const uint ReadControl = 0x0002_0000;
    private const uint ShareAll = 0x1 | 0x2 | 0x4;
    private const uint OpenExisting = 3;
    private const uint FlagBackupSemantics = 0x0200_0000;
    private const uint FlagOpenReparsePoint = 0x0020_0000;
    private const uint FlagOpenNoRecall = 0x0010_0000;
    private const int SeFileObject = 1;
    private const uint OwnerSecurityInformation = 1;
    private const int ErrorFileNotFound = 2;
    private const int ErrorPathNotFound = 3;
    private const int ErrorAccessDenied = 5;

    private readonly ConcurrentDictionary<string, string> _names = new(StringComparer.Ordinal);

    public string RootName(string localRoot) => localRoot;

    public WindowsFileFacts Read(string localPath, FileAttributes listed)
    {
        using var handle = CreateFileW(LongPath(localPath), FileReadAttributes | ReadControl, ShareAll, 0, OpenExisting,
            FlagBackupSemantics | FlagOpenReparsePoint | FlagOpenNoRecall, 0);
        if (handle.IsInvalid)
        {
            throw Failure(Marshal.GetLastPInvokeError(), localPath);
        }
        if (!GetFileInformationByHandle(handle, out var information))
        {
            throw Failure(Marshal.GetLastPInvokeError(), localPath);
        }
        var fileId = (long)(((ulong)information.FileIndexHigh << 32) | information.FileIndexLow);
        return new WindowsFileFacts(OwnerOf(handle, localPath), fileId, (FileAttributes)information.FileAttributes, information.NumberOfLinks);
    }

    /// <summary>
    /// The path with every junction, mount point and symbolic link resolved (GetFinalPathNameByHandleW,
    /// without the \\?\ prefix), or null when it does not exist; for <see cref="Connection.WindowsVolumeScope"/>.
    /// </summary>
    public static string? FinalPath(string path)
    {
        using var handle = CreateFileW(LongPath(path), FileReadAttributes, ShareAll, 0, OpenExisting, FlagBackupSemantics | FlagOpenNoRecall, 0);
        return handle.IsInvalid ? null : FinalPathOf(handle);
    }

    /// <summary>The path an open file was reached by, every junction and link resolved (as <see cref="FinalPath"/>), or null.</summary>
    public static string? FinalPathOf(SafeFileHandle handle)
    {
        var buffer = new char[32_768];
        uint length;
        unsafe
        {
            fixed (char* text = buffer)
            {
                length = GetFinalPathNameByHandleW(handle, text, (uint)buffer.Length, 0);
            }
        }
        if (length == 0 || length >= buffer.Length)
        {
            return null;
        }
        var final = new string(buffer, 0, (int)length);
        return final.StartsWith(@"\\?\UNC\", StringComparison.Ordinal) ? @"\\" + final[8..]
            : final.StartsWith(@"\\?\", StringComparison.Ordinal) ? final[4..]
            : final;
    }

    /// <summary>The path with the prefix that lifts MAX_PATH (\\?\C:\…, \\?\UNC\server\share\…).</summary>
    private static string LongPath(string path) =>
        path.StartsWith(@"\\?\", StringComparison.Ordinal) ? path
        : path.StartsWith(@"\\", StringComparison.Ordinal) ? @"\\?\UNC\" + path[2..]
        : @"\\?\" + path;

    private string OwnerOf(SafeFileHandle handle, string localPath)
    {
        var error = GetSecurityInfo(handle, SeFileObject, OwnerSecurityInformation, out var owner, 0, 0, 0, out var descriptor);
        if (error != 0)
        {
            throw Failure((int)error, localPath);
        }
        try
        {
            var sid = new SecurityIdentifier(owner);
            return _names.GetOrAdd(sid.Value, _ => NameOf(sid));
        }
        finally
        {
            LocalFree(descriptor);
        }
    }

    /// <summary>DOMAIN\user, or the SID itself for an account no domain controller names (deleted, or of another forest).</summary>
    private static string NameOf(SecurityIdentifier sid)
    {
        try
        {
            return sid.Translate(typeof(NTAccount)).Value;
        }
        catch (IdentityNotMappedException)
        {
            return sid.Value;
        }
    }

    private static Exception Failure(int error, string path) => error switch
    {
        ErrorFileNotFound or ErrorPathNotFound => new FileNotFoundException($"{path} vanished", path),
        ErrorAccessDenied => new UnauthorizedAccessException($"{path}: access denied"),
        _ => new IOException($"{path}: {new Win32Exception(error).Message}", error),
    };

    /// <summary>BY_HANDLE_FILE_INFORMATION: its FILETIMEs are pairs of DWORDs, so nothing in it is 8-byte aligned.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct ByHandleFileInformation
    {
        public uint FileAttributes;
        public ulong CreationTime;
        public ulong LastAccessTime;
        public ulong LastWriteTime;
        public uint VolumeSerialNumber;
        public uint FileSizeHigh;
        public uint FileSizeLow;
        public uint NumberOfLinks;
        public uint FileIndexHigh;
        public uint FileIndexLow;
    }

    [LibraryImport("kernel32.dll", EntryPoint = "CreateFileW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    private static partial SafeFileHandle CreateFileW(
        string fileName, uint desiredAccess, uint shareMode, nint securityAttributes, uint creationDisposition, uint flagsAndAttributes, nint templateFile);

    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool GetFileInformationByHandle(SafeFileHandle file, out ByHandleFileInformation information);

    [LibraryImport("advapi32.dll")]
    private static partial uint GetSecurityInfo(
        SafeFileHandle handle, int objectType, uint securityInformation, out nint owner, nint group, nint dacl, nint sacl, out nint securityDescriptor);

    [LibraryImport("kernel32.dll")]
    private static partial nint LocalFree(nint memory);

    [LibraryImport("kernel32.dll", SetLastError = true)]
    private static unsafe partial uint GetFinalPathNameByHandleW(SafeFileHandle file, char* path, uint length, uint flags);
}
