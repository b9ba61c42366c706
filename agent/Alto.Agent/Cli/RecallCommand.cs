using System.CommandLine;
using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text.Json;
using Alto.Agent.Jobs;
using Alto.Agent.Stubs;
using Alto.Keys;
using Alto.Tiering;
using Alto.Tiering.Native;

namespace Alto.Agent.Cli;

/// <summary>
/// <c>alto-agent recall PATH...</c>: brings stubs back now (files, or every stub below a
/// folder), with progress. It opens each stub the way any program would, so the running agent
/// (<c>alto-agent run</c>) recalls it, verified, and reports it to the cluster; a stub that stays
/// a stub is reported as failed. With <c>--target FILE</c> (the target as JSON, secrets
/// included) it recalls by itself, journaled, with no agent or cluster running: the emergency
/// way back. With <c>--kit FILE</c> (the recovery kit) and the master key (or Vault) it does the
/// same for every target of the installation, encrypted objects included, when the database is
/// lost (docs/runbooks.md, "Disaster recovery").
/// </summary>
public static class RecallCommand
{
    public static Command Create()
    {
        var paths = AgentOptions.NoEmptyPath(new Argument<string[]>("path") { Description = "Stubs, or folders whose stubs to recall", Arity = ArgumentArity.OneOrMore });
        var targetFile = new Option<FileInfo?>("--target") { Description = "Recall without the running agent, from this target (JSON: kind, path|bucket|container, ..., secrets); keep it private" };
        var kitFile = new Option<FileInfo?>("--kit") { Description = "Recall without the running agent or the cluster, from every target of this recovery kit (GET /api/v1/recovery-kit)" };
        var masterKeyFile = new Option<FileInfo?>("--master-key-file") { Description = $"With --kit: the installation's master key file (or set {KeyOptions.MasterKeyVariable})" };
        var vaultAddress = UrlOption.CreateOptional("--vault-address", "With --kit of an installation on Vault: Vault's URL (token from VAULT_TOKEN, namespace from VAULT_NAMESPACE)");
        var stateDirectory = AgentOptions.StateDirectory();
        var command = new Command("recall", "Recall stubs now, through the running agent (or by itself with --target or --kit)")
        {
            paths, targetFile, kitFile, masterKeyFile, vaultAddress, stateDirectory,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(targetFile) is not null && result.GetValue(kitFile) is not null)
            {
                result.AddError("give --target or --kit, not both");
            }
            if (result.GetValue(kitFile) is null && (result.GetValue(masterKeyFile) is not null || result.GetValue(vaultAddress) is not null))
            {
                result.AddError("--master-key-file and --vault-address go with --kit");
            }
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!OperatingSystem.IsLinux())
            {
                await Console.Error.WriteLineAsync("alto-agent recall: this build recalls Linux stubs only");
                return 2;
            }
            var given = parse.GetValue(paths)!.Select(Path.GetFullPath).ToArray();
            // A mistyped path is refused before anything is recalled, rather than counted as "not a stub".
            var missing = 0;
            foreach (var path in given)
            {
                if (LinuxFiles.TypeAt(path) is null)
                {
                    missing++;
                    await Console.Error.WriteLineAsync($"alto-agent recall: nothing is at {RawPaths.Display(path)}");
                }
            }
            if (missing > 0)
            {
                return 2;
            }
            var found = new List<(string Path, StubInfo Stub)>();
            var (notStubs, unreadable) = (0, 0);
            foreach (var file in given.SelectMany(Files))
            {
                try
                {
                    if (LinuxStubs.Peek(file) is { } stub)
                    {
                        found.Add((file, stub));
                    }
                    else
                    {
                        notStubs++;
                    }
                }
                catch (Exception exception) when (exception is IOException or InvalidDataException)
                {
                    // Gone since its folder was read, or damaged markers: said, counted as failed, and the others go on.
                    unreadable++;
                    await Console.Error.WriteLineAsync($"alto-agent recall: {RawPaths.Display(file)}: {exception.Message}");
                }
            }
            var state = parse.GetValue(stateDirectory)!;
            if (parse.GetValue(targetFile) is { } target)
            {
                return await RecallByItselfAsync(target, found, notStubs, unreadable, state, cancellationToken);
            }
            if (parse.GetValue(kitFile) is { } kit)
            {
                return await RecallFromKitAsync(kit, parse.GetValue(masterKeyFile), parse.GetValue(vaultAddress), found, notStubs, unreadable, state, cancellationToken);
            }
            var stubs = found.ConvertAll(stub => stub.Path);
            var failed = unreadable;
            for (var i = 0; i < stubs.Count; i++)
            {
                var clock = Stopwatch.StartNew();
                string? error = null;
                try
                {
                    // Opened the way any program would, but by the name's own bytes (RawPaths) and not through a link put in its place.
                    using var stub = RegularFileOpen.Open(stubs[i], FileAccess.Read, refusal: null, out var refused);
                    error = refused;
                    _ = stub is null ? 0 : await RandomAccess.ReadAsync(stub, new byte[1], 0, cancellationToken);
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    error = exception.Message;
                }
                if (error is null && LinuxStubs.Peek(stubs[i]) is not null)
                {
                    error = "it is still a stub: is alto-agent run active (as root) on this host?";
                }
                failed += error is null ? 0 : 1;
                Console.WriteLine($"[{i + 1}/{stubs.Count}] {(error is null ? "recalled" : "failed")} {RawPaths.Display(stubs[i])} ({clock.ElapsedMilliseconds} ms){(error is null ? "" : ": " + error)}");
            }
            Console.WriteLine(Summary(stubs.Count, failed, unreadable, notStubs));
            return failed == 0 ? 0 : 1;
        });
        return command;
    }

    [SupportedOSPlatform("linux")]
    private static async Task<int> RecallByItselfAsync(
        FileInfo targetFile, List<(string Path, StubInfo Stub)> stubs, int notStubs, int unreadable, string stateDirectory, CancellationToken cancellationToken)
    {
        TierTarget target;
        try
        {
            await using var json = targetFile.OpenRead();
            target = await JsonSerializer.DeserializeAsync<TierTarget>(json, JsonSerializerOptions.Web, cancellationToken)
                     ?? throw new JsonException("empty");
        }
        catch (Exception exception) when (exception is JsonException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"alto-agent recall: cannot read the target: {exception.Message}");
            return 2;
        }
        ITierStore store;
        try
        {
            store = target.Open();
        }
        catch (ArgumentException exception)
        {
            await Console.Error.WriteLineAsync($"alto-agent recall: the target cannot be used: {exception.Message}");
            return 2;
        }
        Console.WriteLine($"recalling {stubs.Count} stub(s) from the {target}");
        return await RecallStandaloneAsync(stubs, notStubs, unreadable, stateDirectory, _ => store, _ => null, cancellationToken);
    }

    [SupportedOSPlatform("linux")]
    private static async Task<int> RecallFromKitAsync(
        FileInfo kitFile, FileInfo? masterKeyFile, Uri? vaultAddress, List<(string Path, StubInfo Stub)> stubs, int notStubs, int unreadable, string stateDirectory,
        CancellationToken cancellationToken)
    {
        using var vault = vaultAddress is null ? null : new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        RecoveryKitSource source;
        try
        {
            var kit = RecoveryKit.Parse(await File.ReadAllTextAsync(kitFile.FullName, cancellationToken));
            source = await RecoveryKitSource.LoadAsync(kit, MasterKeyOf(masterKeyFile), vault is null ? null : VaultOf(vault, vaultAddress!), cancellationToken);
            Console.WriteLine($"recalling {stubs.Count} stub(s) from the {source.TargetCount} target(s) of the recovery kit of {kit.CreatedAt:u}");
        }
        catch (Exception exception) when (exception is InvalidDataException or KeyServiceException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"alto-agent recall: cannot use the recovery kit: {exception.Message}");
            return 2;
        }
        return await RecallStandaloneAsync(stubs, notStubs, unreadable, stateDirectory, source.Store, source.ClusterFor, cancellationToken);
    }

    /// <summary>The master key from its file, else from the environment; null when neither is given (a Vault kit needs none).</summary>
    private static byte[]? MasterKeyOf(FileInfo? file) =>
        file is not null ? MasterKey.ReadFile(file.FullName)
        : Environment.GetEnvironmentVariable(KeyOptions.MasterKeyVariable) is { Length: > 0 } text ? MasterKey.Decode(text, KeyOptions.MasterKeyVariable)
        : null;

    private static VaultTransitKeyService VaultOf(HttpClient http, Uri address) => new(http, new VaultOptions
    {
        Address = address.ToString(),
        Token = Environment.GetEnvironmentVariable("VAULT_TOKEN"),
        Namespace = Environment.GetEnvironmentVariable("VAULT_NAMESPACE"),
    });

    /// <summary>
    /// Recalls by itself, journaled: each stub's object read from <paramref name="stores"/>,
    /// decoded with what <paramref name="clusterOf"/> gives for its target, verified, written back.
    /// </summary>
    [SupportedOSPlatform("linux")]
    private static async Task<int> RecallStandaloneAsync(
        List<(string Path, StubInfo Stub)> stubs, int notStubs, int unreadable, string stateDirectory, Func<Guid, ITierStore> stores, Func<Guid, RecallCluster?> clusterOf,
        CancellationToken cancellationToken)
    {
        // Holding recall while it runs: its own opens pass, and other programs' opens of stubs are answered from the same targets.
        using var recall = HeldRecall.TryHold("recall", stateDirectory, [], stores);
        if (recall is null)
        {
            return 2;
        }
        var stubDriver = new LinuxStubDriver(recall.Hooks);
        using var journal = new OperationJournal(stateDirectory);
        JournalRecovery.Recover(journal, stubDriver);
        var failed = unreadable;
        for (var i = 0; i < stubs.Count; i++)
        {
            var (path, stub) = stubs[i];
            var runner = new RecallRunner(journal, stubDriver, stores, CommandLog.Logger, clusterOf(stub.TargetId));
            var outcome = (await runner.RecallAsync([path], cancellationToken)).SingleOrDefault();
            // A failure with no stub left to read (the file vanished meanwhile) has no outcome, only its reason.
            var failure = outcome?.Error ?? (runner.FailedWithoutStub.Count > 0 ? runner.FailedWithoutStub[0] : null);
            failed += failure is null ? 0 : 1;
            Console.WriteLine($"[{i + 1}/{stubs.Count}] {(failure is null ? "recalled" : "failed")} {RawPaths.Display(path)}"
                              + (outcome is null ? "" : $" ({outcome.Duration.TotalMilliseconds:0} ms)") + (failure is null ? "" : ": " + failure));
        }
        Console.WriteLine(Summary(stubs.Count, failed, unreadable, notStubs));
        return failed == 0 ? 0 : 1;
    }

    /// <summary>The last line: stubs recalled and failed (files that could not be looked at count as failed).</summary>
    private static string Summary(int stubs, int failed, int unreadable, int notStubs) =>
        $"{stubs + unreadable - failed} recalled, {failed} failed, {notStubs} file(s) were not stubs";

    /// <summary>A file, or the regular files below a folder (symbolic links are not followed).</summary>
    [SupportedOSPlatform("linux")]
    private static IEnumerable<string> Files(string path) => LinuxFiles.TypeAt(path) == FileTimes.TypeDirectory ? FilesBelow(path) : [path];

    /// <summary>
    /// The regular files below a folder, read as raw entries: .NET's enumeration would give a name
    /// that is not UTF-8 with U+FFFD in it, a path that names no file, and the stub would be counted
    /// as "not a stub" and stay one (<see cref="RawPaths"/>). Folders that cannot be read are passed by.
    /// </summary>
    [SupportedOSPlatform("linux")]
    private static IEnumerable<string> FilesBelow(string root)
    {
        var folders = new Stack<string>([root]);
        while (folders.TryPop(out var folder))
        {
            foreach (var (child, type) in Entries(folder))
            {
                var kind = type == LinuxFileSystem.TypeUnknown ? LinuxFiles.StatPath(child).Type : type << 12;
                if (kind == FileTimes.TypeDirectory)
                {
                    folders.Push(child);
                }
                else if (kind == FileTimes.TypeRegular)
                {
                    yield return child;
                }
            }
        }
    }

    /// <summary>A folder's entries (not "." or ".."), with their type as readdir gives it.</summary>
    [SupportedOSPlatform("linux")]
    private static List<(string Path, int Type)> Entries(string folder)
    {
        var entries = new List<(string, int)>();
        var directory = LinuxFileSystem.OpenDirectory(RawPaths.ToBytes(folder, nulTerminated: true), out _);
        if (directory == 0)
        {
            return entries;
        }
        try
        {
            while (LinuxFileSystem.ReadEntry(directory, out var name, out var type, out _, out _))
            {
                if (!name.SequenceEqual("."u8) && !name.SequenceEqual(".."u8))
                {
                    entries.Add((folder.TrimEnd('/') + "/" + RawPaths.FromBytes(name), type));
                }
            }
        }
        finally
        {
            LinuxFileSystem.CloseDirectory(directory);
        }
        return entries;
    }
}
