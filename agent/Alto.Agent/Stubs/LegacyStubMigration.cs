using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Stubs;

/// <summary>
/// Moves version-1 stubs, whose <c>user.alto.*</c> markers any owner of a file could set, to
/// <c>trusted.alto.*</c> markers bound to their file — each only once the cluster's record
/// confirms it at its path, so a stub a local user forged before the upgrade is never made
/// trusted. Runs when the agent starts, over each volume not yet done (<see cref="FileName"/>
/// lists those). A stub the cluster refuses keeps its old markers and is never recalled; while
/// the cluster cannot be asked, the volume waits for the next start. The new markers are written
/// (and flushed) before the old ones go, so a crash between leaves a valid stub either way.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed partial class LegacyStubMigration(string stateDirectory, StubCheck check, ILogger logger)
{
    public const string FileName = "stub-markers-v2.txt";

    private static readonly string LegacyLocator = StubInfo.LegacyName(StubInfo.LocatorAttribute);

    public sealed record Result(int Migrated, int Refused, int Waiting);

    /// <summary>Migrates the version-1 stubs of every volume not done yet; returns what it found.</summary>
    public async Task<Result> RunAsync(IReadOnlyList<string> volumes, CancellationToken cancellationToken)
    {
        var record = Path.Combine(stateDirectory, FileName);
        var done = File.Exists(record) ? (await File.ReadAllLinesAsync(record, cancellationToken)).ToHashSet(StringComparer.Ordinal) : [];
        var total = new Result(0, 0, 0);
        foreach (var volume in volumes.Where(volume => !done.Contains(volume) && Directory.Exists(volume)))
        {
            var result = await MigrateVolumeAsync(volume, cancellationToken);
            LogVolume(logger, volume, result.Migrated, result.Refused, result.Waiting);
            total = new Result(total.Migrated + result.Migrated, total.Refused + result.Refused, total.Waiting + result.Waiting);
            if (result.Waiting == 0)
            {
                done.Add(volume);
                Tiering.PrivateFiles.WriteAllText(record, string.Join('\n', done.Order(StringComparer.Ordinal)) + "\n");
            }
        }
        return total;
    }

    private async Task<Result> MigrateVolumeAsync(string volume, CancellationToken cancellationToken)
    {
        int migrated = 0, refused = 0, waiting = 0;
        // Links are not followed (a link could lead out of the volume); unreadable folders are passed over.
        var files = Directory.EnumerateFiles(volume, "*", new EnumerationOptions
        {
            RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint,
        });
        foreach (var path in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // A look by path first: it opens nothing, so most files cost one getxattr.
            string? locator;
            try
            {
                locator = LinuxFiles.GetAttributeByPath(path, LegacyLocator);
            }
            catch (IOException)
            {
                continue;
            }
            if (locator is null)
            {
                continue;
            }
            switch (await MigrateAsync(path, cancellationToken))
            {
                case StubVerdict.Confirmed:
                    migrated++;
                    break;
                case StubVerdict.Unreachable:
                    waiting++;
                    break;
                default:
                    refused++;
                    break;
            }
        }
        return new Result(migrated, refused, waiting);
    }

    private async Task<StubVerdict> MigrateAsync(string path, CancellationToken cancellationToken)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        var fd = LinuxFiles.Fd(file);
        if (LinuxStubs.Read(fd) is not { } stub)
        {
            return StubVerdict.Unknown;
        }
        if (!stub.IsLegacy)
        {
            // Migrated already, and cut short before the old markers went.
            RemoveLegacyMarkers(fd);
            return StubVerdict.Confirmed;
        }
        var answer = await check(new StubQuestion(path, stub.Locator, stub.Sha256, Legacy: true, BindingProblem: null), cancellationToken);
        if (answer.Verdict != StubVerdict.Confirmed)
        {
            LogNotMigrated(logger, path, answer.Reason ?? answer.Verdict.ToString());
            return answer.Verdict;
        }
        var times = LinuxFiles.Stat(fd);
        LinuxStubs.WriteMarkers(file, stub, new StubBinding(times.Inode, LinuxFiles.Generation(fd)));
        LinuxFiles.Sync(fd);
        RemoveLegacyMarkers(fd);
        LinuxFiles.RestoreTimes(fd, times);
        LinuxFiles.Sync(fd);
        return StubVerdict.Confirmed;
    }

    private static void RemoveLegacyMarkers(int fd)
    {
        LinuxFiles.RemoveAttribute(fd, LegacyLocator);
        foreach (var name in StubInfo.AttributesInWriteOrder)
        {
            LinuxFiles.RemoveAttribute(fd, StubInfo.LegacyName(name));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Version-1 stubs of {Volume}: {Migrated} moved to trusted markers, {Refused} refused by the cluster, {Waiting} waiting for it")]
    private static partial void LogVolume(ILogger logger, string volume, int migrated, int refused, int waiting);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The version-1 stub {Path} was not moved to trusted markers: {Reason}")]
    private static partial void LogNotMigrated(ILogger logger, string path, string reason);
}
