using System.Globalization;
using System.Text.RegularExpressions;
using Alto.TestSupport;

namespace Alto.Silo.Tests;

/// <summary>
/// The release artifacts as an operator receives them: scripts/package.sh publishes self-contained
/// archives with checksums, and the published programs run on this machine with no help from the
/// SDK — the agent says its version, the gateway (with its co-hosted silo) answers /healthz on a
/// real PostgreSQL. The Dockerfiles start what the archives hold (images cannot be built here: no
/// container daemon, no base images).
/// </summary>
public sealed partial class ReleaseArtifactsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task ThePublishedAgentAndGatewayRunFromTheirArchives()
    {
        var version = ChartAppVersion();
        var dist = Directory.CreateTempSubdirectory("alto-dist-").FullName;
        try
        {
            var (packageExit, packageOutput) = await ExternalTool.RunAsync("bash",
                [Path.Combine(RepositoryPaths.Root, "scripts", "package.sh"), "--out", dist, "--only", "agent:linux-x64,gateway:linux-x64,agent:win-x64", "--no-web"],
                "bash runs scripts/package.sh", workingDirectory: RepositoryPaths.Root, patience: TimeSpan.FromMinutes(10));
            Assert.True(packageExit == 0, packageOutput);
            var (checkExit, checkOutput) = await ExternalTool.RunAsync("sha256sum", ["-c", "SHA256SUMS"], "coreutils", workingDirectory: dist);
            Assert.True(checkExit == 0, checkOutput);
            Assert.Equal(3, checkOutput.Split('\n').Count(line => line.EndsWith(": OK", StringComparison.Ordinal)));
            // The Windows agent is cross-compiled here (warnings as errors, the platform analyzer on): a Windows-only compile error cannot land.
            AssertWindowsExecutable(Path.Combine(dist, $"alto-agent-{version}-win-x64.zip"), $"alto-agent-{version}-win-x64/alto-agent.exe");

            var agent = await UnpackAsync(dist, $"alto-agent-{version}-linux-x64");
            await using (var run = ProgramRun.StartExecutable(Path.Combine(agent, EntryPoint("agent")), new Dictionary<string, string>(), "--version"))
            {
                Assert.Equal(0, await run.WaitForExitAsync(Patience));
                Assert.StartsWith(version + "+", run.Output.Trim(), StringComparison.Ordinal);
            }

            var gateway = await UnpackAsync(dist, $"alto-gateway-{version}-linux-x64");
            Assert.True(File.Exists(Path.Combine(gateway, "wwwroot", "index.html")), "the gateway's archive carries the web console");
            await using var database = await TestDatabase.CreateAsync("release");
            var http = new Uri($"http://127.0.0.1:{FreePorts.Next()}");
            await using var served = ProgramRun.StartExecutable(Path.Combine(gateway, EntryPoint("gateway-api")), new Dictionary<string, string>
            {
                ["Alto__Database__ConnectionString"] = database.ConnectionString,
                ["Alto__Keys__MasterKeyFile"] = database.MasterKeyFile,
                ["Alto__Gateway__HttpUrl"] = http.ToString().TrimEnd('/'),
                ["Alto__Gateway__GrpcUrl"] = $"http://127.0.0.1:{FreePorts.Next()}",
                ["Alto__Cluster__ClusterId"] = "release-test",
                ["Alto__Cluster__SiloPort"] = FreePorts.Next().ToString(CultureInfo.InvariantCulture),
                ["Alto__Cluster__GatewayPort"] = FreePorts.Next().ToString(CultureInfo.InvariantCulture),
                ["Alto__Auth__BootstrapAdminPassword"] = GatewayProcess.AdminPassword,
            });
            await Readiness.WaitAsync(http, served, Patience);
            using var client = new HttpClient { BaseAddress = http };
            Assert.Equal("Healthy", await client.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
            Assert.Contains("<title>Alto</title>", await client.GetStringAsync(new Uri("/", UriKind.Relative)), StringComparison.Ordinal);
            Assert.Equal(0, await served.StopAsync(Patience));
        }
        finally
        {
            Directory.Delete(dist, recursive: true);
        }
    }

    [Fact]
    public void EveryProgramAndTheChartCarryTheSameVersion()
    {
        var props = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "Directory.Build.props"));
        Assert.Equal(VersionElement().Match(props).Groups[1].Value, ChartAppVersion());
        var image = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "helm", "alto", "values.yaml"));
        Assert.Contains("silo: alto-silo", image, StringComparison.Ordinal);
        Assert.Contains("gateway: alto-gateway", image, StringComparison.Ordinal);
    }

    /// <summary>The program a Dockerfile starts, relative to the unpacked archive (its ENTRYPOINT is /opt/alto/&lt;program&gt;).</summary>
    private static string EntryPoint(string folder)
    {
        var dockerfile = File.ReadAllText(Path.Combine(RepositoryPaths.Root, folder, "Dockerfile"));
        var entry = EntryPointLine().Match(dockerfile);
        Assert.True(entry.Success, $"{folder}/Dockerfile has no ENTRYPOINT [\"/opt/alto/…\"]");
        return entry.Groups[1].Value;
    }

    /// <summary>The archive holds <paramref name="entry"/>, a PE image for x64 (IMAGE_FILE_MACHINE_AMD64) with the console subsystem, and the install script beside it.</summary>
    private static void AssertWindowsExecutable(string zip, string entry)
    {
        using var archive = System.IO.Compression.ZipFile.OpenRead(zip);
        var exe = archive.GetEntry(entry);
        Assert.True(exe is not null, $"{Path.GetFileName(zip)} has no {entry}: {string.Join(", ", archive.Entries.Take(20).Select(candidate => candidate.FullName))}");
        using var image = new MemoryStream();
        using (var stream = exe.Open())
        {
            stream.CopyTo(image);
        }
        var bytes = image.ToArray();
        Assert.NotNull(archive.GetEntry(Path.GetDirectoryName(entry)!.Replace('\\', '/') + "/install-windows-service.ps1"));
        Assert.Equal("MZ"u8.ToArray(), bytes[..2]);
        var pe = BitConverter.ToInt32(bytes, 0x3C);
        Assert.Equal("PE\0\0"u8.ToArray(), bytes[pe..(pe + 4)]);
        Assert.Equal(0x8664, BitConverter.ToUInt16(bytes, pe + 4));
        // The optional header's Subsystem field: 3 = IMAGE_SUBSYSTEM_WINDOWS_CUI (a console program, as a service runs it).
        Assert.Equal(3, BitConverter.ToUInt16(bytes, pe + 24 + 68));
    }

    private static async Task<string> UnpackAsync(string dist, string name)
    {
        var (exitCode, output) = await ExternalTool.RunAsync("tar", ["-C", dist, "-xzf", Path.Combine(dist, name + ".tar.gz")], "tar", workingDirectory: dist);
        Assert.True(exitCode == 0, output);
        return Path.Combine(dist, name);
    }

    private static string ChartAppVersion() =>
        AppVersionLine().Match(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "helm", "alto", "Chart.yaml"))).Groups[1].Value;

    [GeneratedRegex("<Version>([^<]+)</Version>")]
    private static partial Regex VersionElement();

    [GeneratedRegex("^appVersion: \"([^\"]+)\"$", RegexOptions.Multiline)]
    private static partial Regex AppVersionLine();

    [GeneratedRegex("^ENTRYPOINT \\[\"/opt/alto/([^\"]+)\"", RegexOptions.Multiline)]
    private static partial Regex EntryPointLine();
}
