using System.Runtime.Versioning;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Alto.Agent.Recall;
using Alto.Agent.Stubs;
using Alto.Tiering;

namespace Alto.Agent.Tests.Stubs;

/// <summary>Helpers of the stub tests: files with known content, turned into stubs the way the agent does it.</summary>
[SupportedOSPlatform("linux")]
internal static partial class StubFiles
{
    public static readonly Guid TenantId = Guid.Parse("00000000-0000-0000-0000-00000000a170");

    public static byte[] Write(string path, int length, DateTime? modified = null)
    {
        var content = new byte[length];
        Random.Shared.NextBytes(content);
        File.WriteAllBytes(path, content);
        var time = modified ?? new DateTime(2021, 3, 4, 5, 6, 7, DateTimeKind.Utc).AddTicks(1234567);
        File.SetLastWriteTimeUtc(path, time);
        File.SetLastAccessTimeUtc(path, time.AddDays(1));
        return content;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>
    /// As <see cref="Write"/>, under a name given as bytes (<see cref="RawPaths"/>): written under a
    /// plain name beside it, then renamed by libc, since .NET cannot spell a name that is not UTF-8.
    /// </summary>
    public static byte[] WriteUnderRawName(string path, int length, DateTime? modified = null)
    {
        // Written in the nearest folder above it that .NET can name (the same file system, for the rename).
        var folder = Path.GetDirectoryName(path)!;
        while (RawPaths.HasRawBytes(folder))
        {
            folder = Path.GetDirectoryName(folder)!;
        }
        var staging = Path.Combine(folder, $"staging-{Guid.NewGuid():N}");
        var content = Write(staging, length, modified);
        Assert.True(rename(RawPaths.ToBytes(staging, nulTerminated: true), RawPaths.ToBytes(path, nulTerminated: true)) == 0,
            $"rename failed: errno {Marshal.GetLastPInvokeError()}");
        return content;
    }

    /// <summary>A folder named by bytes (<see cref="RawPaths"/>).</summary>
    public static void MakeRawFolder(string path) =>
        Assert.True(mkdir(RawPaths.ToBytes(path, nulTerminated: true), 0x1ED) == 0, $"mkdir failed: errno {Marshal.GetLastPInvokeError()}");

    /// <summary>rm -rf: .NET cannot name (and so cannot delete) a file whose name is not UTF-8.</summary>
    public static void RemoveTree(string folder)
    {
        using var remove = Process.Start("rm", ["-rf", "--", folder]);
        remove.WaitForExit();
    }

    /// <summary>
    /// One file of <paramref name="length"/> random bytes under two names (hard links) in two
    /// folders of <paramref name="root"/>, as a backup tree made with <c>rsync --link-dest</c> has them.
    /// </summary>
    public static async Task<(string First, string Second, byte[] Content)> HardLinkedAsync(string root, string firstFolder, string secondFolder, int length)
    {
        var first = Path.Combine(Directory.CreateDirectory(Path.Combine(root, firstFolder)).FullName, "scan.tif");
        var second = Path.Combine(Directory.CreateDirectory(Path.Combine(root, secondFolder)).FullName, "scan.tif");
        var content = Write(first, length);
        Assert.Equal(0, (await ShellAsync($"ln '{first}' '{second}'")).ExitCode);
        return (first, second, content);
    }

    /// <summary>
    /// Uploads the file to the store and makes it a stub, as a tiering job would; with the
    /// <paramref name="recall"/> hooks of a listener on the volume (whose own opens here give the
    /// file an ignore mark that making the stub must take off), as the agent's jobs do.
    /// </summary>
    public static async Task<StubInfo> TierAsync(string path, ITierStore store, Guid targetId, IStubRecallHooks? recall = null)
    {
        FileTimes times;
        using (var handle = File.OpenHandle(path))
        {
            times = LinuxFiles.Stat(handle);
        }
        StoredObject stored;
        await using (var content = File.OpenRead(path))
        {
            stored = await store.PutAsync(TenantId, content, CancellationToken.None);
        }
        Assert.Equal(stored.Sha256, await Sha256Check.OfObjectAsync(store, stored.Key, CancellationToken.None));
        var stub = new StubInfo(targetId, stored.Key, stored.Sha256, stored.Length);
        LinuxStubs.MakeStub(path, stub, times, recall);
        // The binding is the file's own: LinuxStubTests checks it against stat and lsattr.
        return stub with { Binding = LinuxStubs.Peek(path)?.Binding };
    }

    /// <summary>A stub holds no data: no extent at all, and at most one block (its extended attributes).</summary>
    public static void AssertReleased(string path)
    {
        using var handle = LinuxFiles.OpenByPath(path, FileAccess.Read);
        Assert.False(LinuxFiles.HasData(handle), $"{path} still holds data");
        Assert.InRange(LinuxFiles.Stat(handle).Blocks * 512, 0, 4096);
    }

    public static FileTimes Stat(string path)
    {
        using var handle = LinuxFiles.OpenByPath(path, FileAccess.Read);
        return LinuxFiles.Stat(handle);
    }

    /// <summary>Runs a shell command in another process (so its opens are not the agent's own); returns exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> ShellAsync(string command)
    {
        var start = new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await output + await error).Trim());
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int mkdir(byte[] path, int mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int rename(byte[] from, byte[] to);
}
