using System.Diagnostics;
using System.Runtime.Versioning;
using System.Threading.Channels;
using Alto.Agent.Scanning;
using Alto.Scanning;
using Alto.TestSupport;

namespace Alto.Agent.Tests;

/// <summary>Unreadable folders, over-long paths and symlinks are counted and skipped; the scan goes on.</summary>
[SupportedOSPlatform("linux")]
public sealed class ScannerResilienceTests : IDisposable
{
    private readonly string _tree = Directory.CreateTempSubdirectory("alto-resilience-").FullName;
    /// <summary>A folder outside the tree (the host's volume in these tests), where links lead.</summary>
    private readonly string _outside = Directory.CreateTempSubdirectory("alto-resilience-outside-").FullName;

    public void Dispose()
    {
        Directory.Delete(_outside, true);
        using var chmod = Process.Start("chmod", ["-R", "u+rwx", _tree]);
        chmod.WaitForExit();
        using var remove = Process.Start("rm", ["-rf", "--", _tree]);
        remove.WaitForExit();
    }

    [Fact]
    public async Task PathsBeyondPathMaxAreCountedAndTheRestIsScanned()
    {
        await File.WriteAllTextAsync(Path.Combine(_tree, "top.txt"), "x");
        // 25 levels of 200-character names: the deepest folders are past Linux's 4096-byte PATH_MAX.
        var component = new string('d', 200);
        using (var mkdir = Process.Start("bash", ["-c", $"cd '{_tree}' && for i in $(seq 1 25); do mkdir {component} && cd {component} && echo x > f.txt; done"]))
        {
            await mkdir.WaitForExitAsync();
            Assert.Equal(0, mkdir.ExitCode);
        }

        var (rows, counters) = await WalkAsync();

        Assert.True(counters.TooLong >= 1, counters.ToString());
        Assert.Contains(rows, row => row.FilePath.EndsWith("/top.txt", StringComparison.Ordinal));
        // Every file in a folder short enough to open was found.
        Assert.Equal(1 + (4096 - _tree.Length) / 201, rows.Count);
    }

    [Fact]
    public async Task AFolderTheAgentMayNotReadIsCountedAsPermissionDenied()
    {
        // Root reads everything, so the agent runs as 'nobody' here, from a copy it can read.
        var agentCopy = Directory.CreateTempSubdirectory("alto-agent-copy-").FullName;
        try
        {
            var build = Path.GetDirectoryName(RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent"))!;
            using (var copy = Process.Start("bash", ["-c", $"cp -r '{build}/.' '{agentCopy}/' && chmod -R a+rX '{agentCopy}' '{_tree}'"]))
            {
                await copy.WaitForExitAsync();
            }
            Directory.CreateDirectory(Path.Combine(_tree, "open"));
            await File.WriteAllTextAsync(Path.Combine(_tree, "open/readable.txt"), "x");
            Directory.CreateDirectory(Path.Combine(_tree, "closed"));
            await File.WriteAllTextAsync(Path.Combine(_tree, "closed/secret.txt"), "x");
            using (var chmod = Process.Start("bash", ["-c", $"chmod a+rx '{_tree}' '{_tree}/open' && chmod a+r '{_tree}/open/readable.txt' && chmod 000 '{_tree}/closed'"]))
            {
                await chmod.WaitForExitAsync();
            }

            var start = new ProcessStartInfo("runuser", ["-u", "nobody", "--", "dotnet", Path.Combine(agentCopy, "alto-agent.dll"), "scan", _tree, "--dry-run"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Environment["DOTNET_CLI_HOME"] = agentCopy;
            start.Environment["ALTO_AGENT_STATE_DIR"] = agentCopy;
            using var scan = Process.Start(start)!;
            var output = await scan.StandardOutput.ReadToEndAsync() + await scan.StandardError.ReadToEndAsync();
            await scan.WaitForExitAsync();

            Assert.True(scan.ExitCode == 0, output);
            Assert.Contains("1 files", output, StringComparison.Ordinal);
            Assert.Contains("permission denied 1", output, StringComparison.Ordinal);
        }
        finally
        {
            using var remove = Process.Start("rm", ["-rf", "--", agentCopy]);
            await remove.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task AStubIsKnownByItsLocatorAttributeAloneEvenAmongMoreAttributesThanOneListingHolds()
    {
        foreach (var name in new[] { "plain.bin", "stub.bin", "legacy.bin", "crowded.bin", "tagged.bin" })
        {
            await File.WriteAllTextAsync(Path.Combine(_tree, name), "some bytes");
        }
        // Thirty long names (about 1,500 bytes listed) crowd the locator out of one listing's buffer.
        var crowd = string.Join("; ", Enumerable.Range(0, 30).Select(i => $"os.setxattr(p + '/crowded.bin', 'user.an-attribute-with-a-rather-long-name-{i:D2}', b'x')"));
        var script = $"""
            import os, sys
            p = sys.argv[1]
            os.setxattr(p + '/stub.bin', 'trusted.alto.locator', b'k')
            os.setxattr(p + '/legacy.bin', 'user.alto.locator', b'k')
            {crowd}
            os.setxattr(p + '/crowded.bin', 'trusted.alto.locator', b'k')
            os.setxattr(p + '/tagged.bin', 'user.alto.locator.not', b'x')
            os.setxattr(p + '/tagged.bin', 'user.alto', b'x')
            """;
        using (var python = Process.Start("python3", ["-c", script, _tree]))
        {
            await python.WaitForExitAsync();
            Assert.Equal(0, python.ExitCode);
        }

        var (rows, _) = await WalkAsync();

        var stubs = rows.ToDictionary(row => Path.GetFileName(row.FilePath), row => row.IsStub);
        Assert.Equal(new Dictionary<string, bool>
        {
            ["plain.bin"] = false, ["stub.bin"] = true, ["legacy.bin"] = true, ["crowded.bin"] = true, ["tagged.bin"] = false,
        }, stubs);
    }

    /// <summary>
    /// A local user who swaps a folder for a link out of the volume after the scan listed it and
    /// before it is opened (opening by path follows the link): the folder opened is not the one
    /// listed, so nothing behind the link is read; the other folders are.
    /// </summary>
    [Fact]
    public async Task AFolderSwappedForALinkAfterItWasListedIsNotFollowed()
    {
        var inner = Directory.CreateDirectory(Path.Combine(_tree, "projects", "inner")).FullName;
        await File.WriteAllTextAsync(Path.Combine(inner, "plan.txt"), "x");
        await File.WriteAllTextAsync(Path.Combine(_tree, "projects", "kept.txt"), "x");
        var swaps = 0;
        void Swap(string folder)
        {
            if (folder == inner && swaps++ == 0)
            {
                SwapForALinkOutside(inner);
            }
        }

        var (rows, counters) = await WalkAsync(new WalkOptions(2, CrossMounts: false) { FolderOpening = Swap });

        Assert.Equal(1, swaps);
        Assert.DoesNotContain(rows, row => row.FilePath.Contains("secret", StringComparison.Ordinal));
        Assert.Contains(rows, row => row.FilePath.EndsWith("/projects/kept.txt", StringComparison.Ordinal));
        Assert.Equal(1, counters.Vanished);
    }

    /// <summary>
    /// A scan root that passed the volume check and was swapped for a link out of the volume
    /// before the walk opened it: judged again by where the open led, and refused whole.
    /// </summary>
    [Fact]
    public async Task ARootSwappedForALinkAfterItsCheckIsRefusedWhole()
    {
        var root = Directory.CreateDirectory(Path.Combine(_tree, "projects")).FullName;
        await File.WriteAllTextAsync(Path.Combine(root, "plan.txt"), "x");
        Assert.Null(Connection.VolumeScope.Refusal(root, [_tree]));
        SwapForALinkOutside(root);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => WalkAsync(WithinTheTree, root));

        Assert.Contains($"reached {_outside}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("not below any of this host's volumes", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARootReachedThroughALinkInsideTheVolumesIsScanned()
    {
        var real = Directory.CreateDirectory(Path.Combine(_tree, "real")).FullName;
        await File.WriteAllTextAsync(Path.Combine(real, "plan.txt"), "x");
        var linked = Path.Combine(_tree, "linked");
        Directory.CreateSymbolicLink(linked, real);

        var (rows, _) = await WalkAsync(WithinTheTree, linked);

        Assert.Equal([Path.Combine(linked, "plan.txt")], rows.Select(row => row.FilePath));
    }

    /// <summary>The agent's own judgement of a scan root, with the test's tree as the host's one volume.</summary>
    private WalkOptions WithinTheTree => new(2, CrossMounts: false) { RootRefusal = reached => Connection.VolumeScope.Refusal(reached, [_tree]) };

    /// <summary>The local user's move: the folder aside, and in its place a link to a folder outside the volume with a secret in it.</summary>
    private void SwapForALinkOutside(string folder)
    {
        File.WriteAllText(Path.Combine(_outside, "secret.txt"), "x");
        Directory.Move(folder, folder + ".away");
        Directory.CreateSymbolicLink(folder, _outside);
    }

    /// <summary>
    /// tmpfs keeps 64-bit seconds, so any local user can give a file a time before year 1 or after
    /// 9999 with touch; such a file once threw out of the walk and stopped every scan of its volume.
    /// </summary>
    [Fact]
    public async Task FileTimesBeyondTheYears1To9999AreReadAsTheNearestBoundAndTheScanGoesOn()
    {
        var memoryTree = Directory.CreateDirectory(Path.Combine("/dev/shm", "alto-times-" + Guid.NewGuid().ToString("N"))).FullName;
        try
        {
            foreach (var (name, seconds) in new[] { ("far.txt", "300000000000"), ("before.txt", "-62135596900"), ("plain.txt", "1736937000") })
            {
                await File.WriteAllTextAsync(Path.Combine(memoryTree, name), name);
                using var touch = Process.Start("touch", ["-d", "@" + seconds, Path.Combine(memoryTree, name)]);
                await touch.WaitForExitAsync();
                Assert.Equal(0, touch.ExitCode);
            }
            // The premise: the file system kept the times as set.
            using (var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%Y", Path.Combine(memoryTree, "far.txt")]) { RedirectStandardOutput = true })!)
            {
                Assert.Equal("300000000000", (await stat.StandardOutput.ReadToEndAsync()).Trim());
            }

            var (rows, counters) = await WalkAsync(root: memoryTree);

            Assert.Equal(0, counters.Errors);
            var byName = rows.ToDictionary(row => Path.GetFileName(row.FilePath));
            Assert.Equal(3, byName.Count);
            Assert.Equal(DateTimeOffset.MaxValue, byName["far.txt"].LastModified);
            Assert.Equal(DateTimeOffset.MinValue, byName["before.txt"].LastModified);
            Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1736937000), byName["plain.txt"].LastModified);
            // Written as the scan format writes them, each reads back as the same instant: the gateway takes the chunk.
            foreach (var row in rows)
            {
                Assert.True(ScanValues.TryParseTimestamp(ScanValues.Timestamp(row.LastModified), out var read));
                Assert.Equal(row.LastModified, read);
            }
        }
        finally
        {
            Directory.Delete(memoryTree, recursive: true);
        }
    }

    private async Task<(List<ScanRecord> Rows, ScanCounters Counters)> WalkAsync(WalkOptions? options = null, string? root = null)
    {
        var counters = new ScanCounters();
        var channel = Channel.CreateUnbounded<ScanRecord[]>();
        await new TreeWalker(options ?? new WalkOptions(2, CrossMounts: false), counters)
            .WalkAsync([root ?? _tree], channel.Writer, CancellationToken.None);
        var rows = new List<ScanRecord>();
        await foreach (var some in channel.Reader.ReadAllAsync())
        {
            rows.AddRange(some);
        }
        return (rows, counters);
    }
}
