using Alto.TestSupport;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Rules;
using Alto.Rules;
using Npgsql;
using static Alto.TestSupport.PlanningWorld;

namespace Alto.Grains.Tests.Planning;

/// <summary>
/// The planner's fast path (inventory streamed out of PostgreSQL, decisions streamed back and
/// applied set-based) must give exactly the rule engine's answers. Random inventories and random
/// rule sets, planned, disturbed (tier states moved on, rules changed) and planned again, are
/// checked file by file against the evaluator run in memory on the same rows.
/// </summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class PlannerPropertyTests(PostgresClusterFixture fixture)
{
    private const int Rounds = 6;
    private const int FilesPerRound = 1500;

    private static readonly string[] TopFolders = ["projects", "media", "home", "archive", "tmp"];
    private static readonly string[] SubFolders = ["2019", "2020", "old", "Keep", "x y", "ünï"];
    private static readonly string[] Names = ["report", "IMG_001", "data", "a", "b.c", "notes", "Report"];
    private static readonly string[] Extensions = ["dat", "mp4", "MP4", "iso", "tmp", "txt", ""];
    private static readonly string[] Globs =
        ["/srv/projects/**", "*.tmp", "/srv/*/old", "**/2019/**", "/srv/{media,archive}", "/srv/home/*/notes*", "[a-m]*.dat", "IMG_???.*", "*.MP4"];
    private static readonly string[] Regexes = ["/old/", @"\.(mp4|iso)$", "^/srv/(home|tmp)/", @"IMG_\d+", "(?i)report", @"\\x y\\"];
    private static readonly long[] Sizes = [0, 1, 1024, 4096, 1 << 20];
    private static readonly int[] Ages = [0, 1, 30, 90, 365];
    private static readonly string[] ExtensionChoices = ["dat", "mp4", "iso", "tmp", "txt"];
    private static readonly string[] DisturbedStates = ["DISPATCHED", "STUBBED", "RECALLED", "SKIPPED", "FAILED"];

    [Fact]
    public async Task PlansMatchTheEvaluatorFileByFile()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var seed = Environment.TickCount ^ round;
            var random = new Random(seed);
            var os = round % 3 == 2 ? HostOs.Windows : HostOs.Linux;
            var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database, os);
            var context = $"round {round}, seed {seed}, {os}";

            await world.AddFilesAsync([.. Enumerable.Range(0, FilesPerRound).Select(_ => RandomFile(random, os)).DistinctBy(file => file.Path)]);
            foreach (var (rule, priority) in Enumerable.Range(0, random.Next(3, 9)).Select(i => (RandomCriteria(random), (i + 1) * 10)).OrderBy(_ => random.Next()))
            {
                await world.AddRuleAsync($"rule {priority}", rule, priority, random.Next(5) == 0 ? RuleAction.Exclude : RuleAction.Tier);
            }
            await PlanAndCompareAsync(world, context + ", first plan");

            // Disturb: tier states move on for some files, a rule is dropped and another added.
            var planned = (await world.PlannedAsync()).Keys.ToArray();
            foreach (var state in DisturbedStates)
            {
                var some = planned.Where(_ => random.Next(10) == 0).ToArray();
                await world.ExecuteAsync("UPDATE alto.tier_object SET state = $2 WHERE file_current_id = ANY($1) AND state = 'PLANNED'", some, state);
            }
            var rules = (await world.Tenant.ListRulesAsync())!;
            await world.Tenant.DeleteRuleAsync(rules[random.Next(rules.Length)].Id);
            await world.AddRuleAsync("late", RandomCriteria(random), 5);
            await PlanAndCompareAsync(world, context + ", re-plan");
        }
    }

    private static async Task PlanAndCompareAsync(PlanningWorld world, string context)
    {
        var preview = (await world.Inventory.PlanAsync(dryRun: true)).Value!;
        var plan = (await world.Inventory.PlanAsync(dryRun: false)).Value!;
        var rules = RuleSet.Compile((await world.Tenant.ListRulesAsync())!, HostPathFlavor.Of((await world.Host.GetAsync())!.Os), plan.EvaluatedAt,
            world.HostId, _ => null);

        var expected = new Dictionary<long, Guid>();
        var perRule = new long[rules.Rules.Count];
        await foreach (var file in ReadInventoryAsync(world))
        {
            var verdict = rules.Evaluate(new FileFacts(file.Path, file.Extension, file.Size, file.Accessed, file.Modified, file.IsStub, file.InFlight));
            if (verdict >= 0)
            {
                perRule[verdict]++;
                if (rules.Rules[verdict].Plans)
                {
                    expected[file.Id] = rules.Rules[verdict].Rule.Id;
                }
            }
        }

        var actual = await world.PlannedAsync();
        var missing = expected.Where(pair => !actual.TryGetValue(pair.Key, out var rule) || rule != pair.Value).Take(5).ToArray();
        var extra = actual.Keys.Except(expected.Keys).Take(5).ToArray();
        Assert.True(missing.Length == 0 && extra.Length == 0,
            $"{context}: planner and evaluator disagree; e.g. expected {string.Join(", ", missing)}; not expected {string.Join(", ", extra)}");
        Assert.Equal(rules.Rules.Select(r => perRule[r.Index]), preview.Rules.Select(r => r.Files));
        Assert.Equal(rules.Rules.Select(r => perRule[r.Index]), plan.Rules.Select(r => r.Files));
        Assert.All(await world.JobsAsync(), job => Assert.Equal(job.Files, (int)job.ActualFiles));
    }

    private sealed record StoredFile(long Id, string Path, long Size, long Accessed, long Modified, string Extension, bool IsStub, bool InFlight);

    private static async IAsyncEnumerable<StoredFile> ReadInventoryAsync(PlanningWorld world)
    {
        await using var command = world.Database.DataSource.CreateCommand("""
            SELECT f.file_current_id, f.full_path, f.size_bytes, f.atime_unix, f.mtime_unix, f.file_extension, f.is_stub,
                   coalesce(t.state NOT IN ('PLANNED', 'SKIPPED', 'RECALLED'), false)
            FROM alto.file_current f LEFT JOIN alto.tier_object t ON t.file_current_id = f.file_current_id
            WHERE f.host_id = $1 AND f.deleted_utc IS NULL
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = world.HostId });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            yield return new StoredFile(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4),
                reader.GetString(5), reader.GetBoolean(6), reader.GetBoolean(7));
        }
    }

    private static InventoryFile RandomFile(Random random, HostOs os)
    {
        var separator = os == HostOs.Windows ? "\\" : "/";
        var parts = new List<string> { "", "srv", Pick(random, TopFolders) };
        for (var depth = random.Next(3); depth > 0; depth--)
        {
            parts.Add(Pick(random, SubFolders));
        }
        var extension = Pick(random, Extensions);
        parts.Add(Pick(random, Names) + (extension.Length > 0 ? "." + extension : ""));
        // Ages keep clear of day boundaries, so the second between writing and planning cannot matter.
        long Age() => random.Next(0, 400) * Day + random.Next(3600, 82_800);
        var size = random.Next(3) == 0 ? Pick(random, Sizes) + random.Next(-1, 2) : random.NextInt64(0, 10L << 20);
        return new InventoryFile(string.Join(separator, parts), Math.Max(0, size), Age(), Age(), IsStub: random.Next(20) == 0);
    }

    private static RuleCriteria RandomCriteria(Random random)
    {
        bool Maybe() => random.Next(100) < 35;
        var included = Maybe() ? PickSome(random, ExtensionChoices) : [];
        var excluded = Maybe() ? PickSome(random, ExtensionChoices).Except(included).ToArray() : [];
        long? min = Maybe() ? Pick(random, Sizes) : null;
        long? max = Maybe() ? Pick(random, Sizes) : null;
        if (min > max)
        {
            (min, max) = (max, min);
        }
        var criteria = new RuleCriteria(
            Maybe() ? PickSome(random, Globs) : [], random.Next(100) < 20 ? PickSome(random, Globs) : [],
            Maybe() ? Pick(random, Regexes) : null, random.Next(100) < 20 ? Pick(random, Regexes) : null,
            min, max, Maybe() ? Pick(random, Ages) : null, Maybe() ? Pick(random, Ages) : null, included, excluded);
        return criteria.IsEmpty ? criteria with { AccessedOlderThanDays = Pick(random, Ages) } : criteria;
    }

    private static T Pick<T>(Random random, T[] choices) => choices[random.Next(choices.Length)];

    private static string[] PickSome(Random random, string[] choices) =>
        [.. choices.Where(_ => random.Next(choices.Length) < 2).DefaultIfEmpty(Pick(random, choices))];
}
