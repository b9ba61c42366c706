using System.Diagnostics.Metrics;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tenants;
using Alto.Grains.Planning;
using Alto.Rules;
using Alto.Scanning;
using Alto.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Bench;

/// <summary>
/// bench/run.sh plan: an inventory of N files on one host and 20 rules of mixed kinds.
/// Measures the rule engine alone (files in memory), a dry run (inventory streamed out of
/// PostgreSQL and evaluated), a full plan (the same plus writing PLANNED tier objects and jobs)
/// and an unchanged re-plan — against PostgreSQL evaluating the same rules as a first-match
/// CASE over the same rows. The per-rule counts of both must agree.
/// </summary>
public static class PlanBench
{
    private const long MiB = 1 << 20;

    public static async Task<Dictionary<string, object>> RunAsync(int files)
    {
        await using var database = await TestDatabase.CreateAsync("bench_plan");
        await database.MigrateAsync();
        var tenantId = Guid.NewGuid();
        var hostId = Guid.NewGuid();
        var targetId = Guid.NewGuid();
        var generate = Stopwatch.StartNew();
        await GenerateAsync(database, tenantId, hostId, targetId, files);
        generate.Stop();

        var now = DateTimeOffset.UtcNow;
        var rules = Rules(tenantId, targetId, now);
        var target = new StorageTargetInfo(targetId, tenantId, "archive", StorageTargetKind.Path,
            new StorageTargetSettings("/mnt/archive", null, null, null, null, null, null, false), false, true, now, now);
        // The bench tenant predates approvals and minimum sizes: every file of /srv may be planned, and jobs go at once.
        var input = new PlanInput(tenantId, hostId, PathFlavor.Posix, rules, [target], PlanInput.AssumedBytesPerSecond, now) { Volumes = ["/srv"] };
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var slots = new PlanSlots(Microsoft.Extensions.Options.Options.Create(new PlannerOptions()));
        var planner = new HostPlanner(database.DataSource, slots, new PlannerMetrics(services.GetRequiredService<IMeterFactory>()),
            Microsoft.Extensions.Options.Options.Create(new Grains.Tiers.TierRetryOptions()), NullLogger<HostPlanner>.Instance);

        var (evaluationSeconds, inMemoryCounts) = await EvaluateInMemoryAsync(database, input);
        var dryRun = await planner.PlanAsync(input, dryRun: true, CancellationToken.None);
        var (sqlSeconds, sqlCounts) = await SqlCaseAsync(database, input);
        var plan = await planner.PlanAsync(input, dryRun: false, CancellationToken.None);
        var replan = await planner.PlanAsync(input, dryRun: false, CancellationToken.None);

        var altoCounts = dryRun.Rules.Select(r => r.Files).ToArray();
        var planned = await database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{hostId}' AND state = 'PLANNED'");
        return new Dictionary<string, object>
        {
            ["bench"] = "plan",
            ["files"] = files,
            ["rules"] = rules.Count,
            ["generate_seconds"] = Math.Round(generate.Elapsed.TotalSeconds, 1),
            ["alto_evaluate_files_per_s"] = Math.Round(files / evaluationSeconds),
            ["alto_dry_run_seconds"] = Math.Round(dryRun.Seconds, 3),
            ["alto_dry_run_files_per_s"] = Math.Round(files / dryRun.Seconds),
            ["alto_plan_seconds"] = Math.Round(plan.Seconds, 3),
            ["alto_replan_unchanged_seconds"] = Math.Round(replan.Seconds, 3),
            ["planned_files"] = planned,
            ["planned_fraction"] = Math.Round((double)planned / files, 3),
            ["jobs"] = plan.Changes!.JobsCreated,
            ["baseline_sql_case_seconds"] = Math.Round(sqlSeconds, 3),
            ["baseline_sql_case_files_per_s"] = Math.Round(files / sqlSeconds),
            ["ratio_evaluate_vs_sql_case"] = Math.Round(sqlSeconds / evaluationSeconds, 2),
            ["ratio_dry_run_vs_sql_case"] = Math.Round(sqlSeconds / dryRun.Seconds, 2),
            ["per_rule_counts_agree"] = altoCounts.SequenceEqual(sqlCounts) && altoCounts.SequenceEqual(inMemoryCounts),
            ["goal_evaluate_files_per_s"] = 1_000_000,
            ["goal_plan_seconds"] = 5,
        };
    }

    /// <summary>A tree of departments, projects and yearly folders; sizes and ages spread by multiplicative hashing.</summary>
    private static async Task GenerateAsync(TestDatabase database, Guid tenantId, Guid hostId, Guid targetId, int files)
    {
        await database.ExecuteAsync($"""
            INSERT INTO alto.tenant (id, name) VALUES ('{tenantId}', 'bench');
            INSERT INTO alto.host (id, tenant_id, name) VALUES ('{hostId}', '{tenantId}', 'fs01');
            INSERT INTO alto.storage_target (id, tenant_id, name, kind) VALUES ('{targetId}', '{tenantId}', 'archive', 'path');
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            SELECT '{tenantId}', '{hostId}', 0, 'f' || i || '.' || ext,
                   '/srv/' || dept || '/p' || (i / 7 % 50) || '/' || sub || '/f' || i || '.' || ext,
                   size, now_unix - age * 86400 - 3600, now_unix - (age + i % 30) * 86400 - 3600, 0, ext, 0, 0, now()
            FROM (SELECT i,
                         (ARRAY['eng','finance','legal','media','hr','ops','research'])[i % 7 + 1] AS dept,
                         (ARRAY['active','archive','2019','2020','scratch'])[i / 350 % 5 + 1] AS sub,
                         (ARRAY['dat','log','mp4','pdf','docx','iso','tmp','bak','csv','db'])[i * 7 % 10 + 1] AS ext,
                         (i::bigint * 2654435761) % 10485760 AS size,
                         (i::bigint * 40503) % 1000 AS age,
                         extract(epoch FROM now())::bigint AS now_unix
                  FROM generate_series(1, {files}) i) f;
            ANALYZE alto.file_current;
            """);
    }

    private static List<RuleInfo> Rules(Guid tenantId, Guid targetId, DateTimeOffset now)
    {
        var rules = new List<RuleInfo>();
        void Add(RuleAction action, RuleCriteria criteria) =>
            rules.Add(new RuleInfo(Guid.NewGuid(), tenantId, $"rule {rules.Count + 1}", (rules.Count + 1) * 10, true, action,
                action == RuleAction.Tier ? targetId : null, null, criteria, now, now));
        var none = RuleCriteria.None;
        Add(RuleAction.Exclude, none with { PathGlobs = ["/srv/*/*/active/**"] });
        Add(RuleAction.Exclude, none with { Extensions = ["db"] });
        Add(RuleAction.Exclude, none with { PathRegex = @"/scratch/.*\.tmp$" });
        Add(RuleAction.Tier, none with { PathGlobs = ["/srv/media/**"], Extensions = ["mp4", "iso"], AccessedOlderThanDays = 90 });
        Add(RuleAction.Tier, none with { PathRegex = "^/srv/(finance|legal)/p[0-9]*/20(19|20)/", ModifiedOlderThanDays = 365 });
        Add(RuleAction.Tier, none with { Extensions = ["bak"], MinSizeBytes = MiB });
        Add(RuleAction.Tier, none with { PathGlobs = ["**/archive/**"], AccessedOlderThanDays = 400 });
        Add(RuleAction.Tier, none with { Extensions = ["log"], AccessedOlderThanDays = 700, ExcludePathGlobs = ["/srv/ops/**"] });
        Add(RuleAction.Tier, none with { MinSizeBytes = 9 * MiB + MiB / 2, AccessedOlderThanDays = 800 });
        Add(RuleAction.Exclude, none with { PathGlobs = ["/srv/hr/**"] });
        Add(RuleAction.Tier, none with { PathGlobs = ["/srv/research/p1?/**"], MaxSizeBytes = MiB });
        Add(RuleAction.Tier, none with { Extensions = ["pdf", "docx"], AccessedOlderThanDays = 900 });
        Add(RuleAction.Tier, none with { PathRegex = "/p4[0-9]/", ModifiedOlderThanDays = 950 });
        Add(RuleAction.Tier, none with { PathGlobs = ["*.csv"], MinSizeBytes = 5 * MiB, AccessedOlderThanDays = 500 });
        Add(RuleAction.Exclude, none with { PathRegex = @"f[0-9]*7\.dat$" });
        Add(RuleAction.Tier, none with { Extensions = ["dat"], AccessedOlderThanDays = 850 });
        Add(RuleAction.Tier, none with { PathGlobs = ["/srv/eng/{p1,p2,p3}/**"], AccessedOlderThanDays = 600 });
        Add(RuleAction.Tier, none with { ExcludeExtensions = ["tmp"], AccessedOlderThanDays = 990 });
        Add(RuleAction.Tier, none with { PathGlobs = ["/srv/legal/**"], MaxSizeBytes = 100_000 });
        Add(RuleAction.Tier, none with { PathRegex = "scratch", AccessedOlderThanDays = 700 });
        return rules;
    }

    /// <summary>The rule engine alone: every file held in memory, evaluated three times, the best time kept.</summary>
    private static async Task<(double Seconds, long[] Counts)> EvaluateInMemoryAsync(TestDatabase database, PlanInput input)
    {
        var paths = new List<string>();
        var extensions = new List<string>();
        var numbers = new List<(long Size, long Accessed, long Modified)>();
        await using (var command = database.DataSource.CreateCommand(
                         $"SELECT full_path, file_extension, size_bytes, atime_unix, mtime_unix FROM alto.file_current WHERE host_id = '{input.HostId}'"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                paths.Add(reader.GetString(0));
                extensions.Add(string.Intern(reader.GetString(1)));
                numbers.Add((reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4)));
            }
        }
        var best = double.MaxValue;
        long[] counts = [];
        for (var round = 0; round < 3; round++)
        {
            var rules = input.CompileRules();
            counts = new long[rules.Rules.Count];
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < paths.Count; i++)
            {
                var verdict = rules.Evaluate(new FileFacts(paths[i], extensions[i], numbers[i].Size, numbers[i].Accessed, numbers[i].Modified));
                if (verdict >= 0)
                {
                    counts[verdict]++;
                }
            }
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return (best, counts);
    }

    /// <summary>The baseline: PostgreSQL evaluating the same rules as one first-match CASE (globs as the same regular expressions).</summary>
    private static async Task<(double Seconds, long[] Counts)> SqlCaseAsync(TestDatabase database, PlanInput input)
    {
        var nowUnix = input.Now.ToUnixTimeSeconds();
        var sql = new StringBuilder("SELECT rule, count(*) FROM (SELECT CASE");
        for (var i = 0; i < input.Rules.Count; i++)
        {
            sql.Append(CultureInfo.InvariantCulture, $" WHEN {Predicate(input.Rules[i].Criteria, nowUnix)} THEN {i}");
        }
        sql.Append(CultureInfo.InvariantCulture,
            $" END AS rule FROM alto.file_current WHERE host_id = '{input.HostId}' AND deleted_utc IS NULL) m WHERE rule IS NOT NULL GROUP BY rule");
        var counts = new long[input.Rules.Count];
        var best = double.MaxValue;
        for (var round = 0; round < 2; round++)
        {
            var clock = Stopwatch.StartNew();
            await using var command = database.DataSource.CreateCommand(sql.ToString());
            command.CommandTimeout = 600;
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                counts[reader.GetInt32(0)] = reader.GetInt64(1);
            }
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return (best, counts);
    }

    private static string Predicate(RuleCriteria criteria, long nowUnix)
    {
        var parts = new List<string>();
        if (criteria.MinSizeBytes is { } min)
        {
            parts.Add($"size_bytes >= {min}");
        }
        if (criteria.MaxSizeBytes is { } max)
        {
            parts.Add($"size_bytes <= {max}");
        }
        if (criteria.AccessedOlderThanDays is { } accessed)
        {
            parts.Add($"atime_unix <= {nowUnix - accessed * 86_400L}");
        }
        if (criteria.ModifiedOlderThanDays is { } modified)
        {
            parts.Add($"mtime_unix <= {nowUnix - modified * 86_400L}");
        }
        if (criteria.Extensions.Length > 0)
        {
            parts.Add($"file_extension IN ({string.Join(", ", criteria.Extensions.Select(Quote))})");
        }
        if (criteria.ExcludeExtensions.Length > 0)
        {
            parts.Add($"file_extension NOT IN ({string.Join(", ", criteria.ExcludeExtensions.Select(Quote))})");
        }
        if (criteria.PathGlobs.Length > 0)
        {
            parts.Add($"full_path ~ {Quote(string.Join('|', criteria.PathGlobs.Select(g => $"(?:{GlobPattern.ToRegexPattern(g, PathFlavor.Posix)})")))}");
        }
        if (criteria.ExcludePathGlobs.Length > 0)
        {
            parts.Add($"full_path !~ {Quote(string.Join('|', criteria.ExcludePathGlobs.Select(g => $"(?:{GlobPattern.ToRegexPattern(g, PathFlavor.Posix)})")))}");
        }
        if (criteria.PathRegex is { } regex)
        {
            parts.Add($"full_path ~ {Quote(regex)}");
        }
        if (criteria.ExcludePathRegex is { } excluded)
        {
            parts.Add($"full_path !~ {Quote(excluded)}");
        }
        return string.Join(" AND ", parts);
    }

    private static string Quote(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";
}
