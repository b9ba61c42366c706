using Alto.GrainInterfaces.Rules;
using Alto.Rules;
using Alto.Scanning;
using static Alto.Grains.Tests.Rules.RuleBuilder;

namespace Alto.Grains.Tests.Rules;

[Trait("Layer", "Unit")]
public sealed class RuleEngineTests
{
    private const long Day = 86_400;
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private static readonly long NowUnix = Now.ToUnixTimeSeconds();

    /// <summary>A file for evaluation; by default 1 MiB, untouched for a year, a .dat under /srv.</summary>
    public sealed record TestFile(
        string Path = "/srv/data/file.dat", long Size = 1 << 20, long AccessedAgo = 365 * Day, long ModifiedAgo = 365 * Day,
        bool IsStub = false, bool InFlight = false)
    {
        public string Extension => System.IO.Path.GetExtension(Path.Replace('\\', '/')).TrimStart('.').ToLowerInvariant();
    }

    private static int Evaluate(RuleSet rules, TestFile file) =>
        rules.Evaluate(new FileFacts(file.Path, file.Extension, file.Size, NowUnix - file.AccessedAgo, NowUnix - file.ModifiedAgo,
            file.IsStub, file.InFlight));

    private static RuleSet Compile(PathFlavor flavor, params RuleInfo[] rules) =>
        RuleSet.Compile(rules, flavor, Now, hostId: null, _ => null);

    private static bool Matches(RuleCriteria criteria, TestFile file, PathFlavor flavor = PathFlavor.Posix) =>
        Evaluate(Compile(flavor, Tier(1, criteria)), file) == 0;

    public static TheoryData<string, RuleCriteria, TestFile, bool> SingleCriteria() => new()
    {
        { "min size: exactly the minimum", RuleCriteria.None with { MinSizeBytes = 1000 }, new TestFile(Size: 1000), true },
        { "min size: one byte short", RuleCriteria.None with { MinSizeBytes = 1000 }, new TestFile(Size: 999), false },
        { "min size 0 takes empty files", RuleCriteria.None with { MinSizeBytes = 0 }, new TestFile(Size: 0), true },
        { "max size: exactly the maximum", RuleCriteria.None with { MaxSizeBytes = 1000 }, new TestFile(Size: 1000), true },
        { "max size: one byte over", RuleCriteria.None with { MaxSizeBytes = 1000 }, new TestFile(Size: 1001), false },
        { "accessed: exactly N days ago", RuleCriteria.None with { AccessedOlderThanDays = 30 }, new TestFile(AccessedAgo: 30 * Day), true },
        { "accessed: a second short of N days", RuleCriteria.None with { AccessedOlderThanDays = 30 }, new TestFile(AccessedAgo: 30 * Day - 1), false },
        { "accessed: 0 days takes a file read now", RuleCriteria.None with { AccessedOlderThanDays = 0 }, new TestFile(AccessedAgo: 0), true },
        { "accessed: in the future is not old", RuleCriteria.None with { AccessedOlderThanDays = 0 }, new TestFile(AccessedAgo: -10), false },
        { "modified: exactly N days ago", RuleCriteria.None with { ModifiedOlderThanDays = 7 }, new TestFile(ModifiedAgo: 7 * Day), true },
        { "modified: a second short", RuleCriteria.None with { ModifiedOlderThanDays = 7 }, new TestFile(ModifiedAgo: 7 * Day - 1), false },
        { "modified age ignores access", RuleCriteria.None with { ModifiedOlderThanDays = 7 }, new TestFile(AccessedAgo: 0, ModifiedAgo: 8 * Day), true },
        { "extension listed", RuleCriteria.None with { Extensions = ["iso", "dat"] }, new TestFile(), true },
        { "extension listed in capitals", RuleCriteria.None with { Extensions = ["DAT"] }, new TestFile(), true },
        { "extension listed with a dot", RuleCriteria.None with { Extensions = [".dat"] }, new TestFile(), true },
        { "extension not listed", RuleCriteria.None with { Extensions = ["iso"] }, new TestFile(), false },
        { "no extension is not listed", RuleCriteria.None with { Extensions = ["dat"] }, new TestFile("/srv/README"), false },
        { "extension excluded", RuleCriteria.None with { ExcludeExtensions = ["dat"] }, new TestFile(), false },
        { "extension not excluded", RuleCriteria.None with { ExcludeExtensions = ["tmp"] }, new TestFile(), true },
        { "glob: rooted directory takes files below", Globs("/srv/data"), new TestFile(), true },
        { "glob: rooted prefix is not a directory", Globs("/srv/dat"), new TestFile(), false },
        { "glob: unrooted name at any depth", Globs("*.dat"), new TestFile("/a/b/c/d.dat"), true },
        { "glob: unrooted matches whole components only", Globs("ile.dat"), new TestFile(), false },
        { "glob: star stays in one component", Globs("/srv/*.dat"), new TestFile(), false },
        { "glob: double star crosses components", Globs("/srv/**.dat"), new TestFile(), true },
        { "glob: double star slash may be no directory", Globs("/srv/**/data/file.dat"), new TestFile(), true },
        { "glob: question mark is one character", Globs("/srv/data/fil?.dat"), new TestFile(), true },
        { "glob: question mark is not a slash", Globs("/srv?data/file.dat"), new TestFile(), false },
        { "glob: class", Globs("/srv/data/[a-f]ile.dat"), new TestFile(), true },
        { "glob: negated class", Globs("/srv/data/[!f]ile.dat"), new TestFile(), false },
        { "glob: alternatives", Globs("/srv/{media,data}/**"), new TestFile(), true },
        { "glob: any of several", Globs("/nope/**", "/srv/**"), new TestFile(), true },
        { "glob: escaped star is literal", Globs(@"/srv/data/\*.dat"), new TestFile("/srv/data/*.dat"), true },
        { "glob: escaped star does not wildcard", Globs(@"/srv/data/\*.dat"), new TestFile(), false },
        { "glob: dots are literal", Globs("/srv/data/file.dat"), new TestFile("/srv/data/fileXdat"), false },
        { "exclude glob", RuleCriteria.None with { ExcludePathGlobs = ["/srv/data/**"] }, new TestFile(), false },
        { "exclude glob elsewhere", RuleCriteria.None with { ExcludePathGlobs = ["/home/**"] }, new TestFile(), true },
        { "regex searches the path", RuleCriteria.None with { PathRegex = @"/data/" }, new TestFile(), true },
        { "regex anchored", RuleCriteria.None with { PathRegex = @"^/data/" }, new TestFile(), false },
        { "exclude regex", RuleCriteria.None with { ExcludePathRegex = @"\.dat$" }, new TestFile(), false },
        { "exclude regex elsewhere", RuleCriteria.None with { ExcludePathRegex = @"\.tmp$" }, new TestFile(), true },
        { "non-UTF-8 names are matched as escaped", Globs(@"/srv/\\xff*"), new TestFile(@"/srv/\xffname.dat"), true },
    };

    [Theory]
    [MemberData(nameof(SingleCriteria))]
    public void EachCriterionAlone(string because, RuleCriteria criteria, TestFile file, bool expected) =>
        Assert.True(expected == Matches(criteria, file), because);

    [Fact]
    public void EveryCriterionOfARuleMustHold()
    {
        var criteria = new RuleCriteria(["/srv/**"], ["/srv/keep/**"], "file", @"\.bak$", 100, 10_000, 30, 60, ["dat"], []);
        var file = new TestFile(Size: 5000, AccessedAgo: 31 * Day, ModifiedAgo: 61 * Day);
        Assert.True(Matches(criteria, file));
        Assert.False(Matches(criteria, file with { Size = 50 }));
        Assert.False(Matches(criteria, file with { Size = 20_000 }));
        Assert.False(Matches(criteria, file with { AccessedAgo = 29 * Day }));
        Assert.False(Matches(criteria, file with { ModifiedAgo = 59 * Day }));
        Assert.False(Matches(criteria, file with { Path = "/srv/data/file.iso" }));
        Assert.False(Matches(criteria, file with { Path = "/srv/keep/file.dat" }));
        Assert.False(Matches(criteria, file with { Path = "/srv/data/other.dat" }));
        Assert.False(Matches(criteria, file with { Path = "/home/file.dat" }));
    }

    [Fact]
    public void FirstMatchInPriorityOrderWinsWhateverTheListOrder()
    {
        var late = Tier(20, Globs("/srv/**"));
        var early = Tier(10, RuleCriteria.None with { MinSizeBytes = 1 });
        var rules = Compile(PathFlavor.Posix, late, early);
        Assert.Equal(early.Id, rules.Rules[Evaluate(rules, new TestFile())].Rule.Id);
        Assert.Equal(late.Id, rules.Rules[Evaluate(rules, new TestFile(Size: 0))].Rule.Id);
        Assert.Equal(RuleSet.NoMatch, Evaluate(rules, new TestFile("/home/x", Size: 0)));
    }

    [Fact]
    public void AnExcludeRuleAheadKeepsItsFilesFromLaterTierRules()
    {
        var keep = Exclude(1, Globs("/srv/data/keep/**"));
        var tier = Tier(2, Globs("/srv/**"));
        var rules = Compile(PathFlavor.Posix, tier, keep);
        var kept = rules.Rules[Evaluate(rules, new TestFile("/srv/data/keep/a.dat"))];
        Assert.Equal(keep.Id, kept.Rule.Id);
        Assert.False(kept.Plans);
        Assert.True(rules.Rules[Evaluate(rules, new TestFile())].Plans);
    }

    [Fact]
    public void DisabledRulesAndRulesOfOtherHostsAreLeftOut()
    {
        var host = Guid.NewGuid();
        var rules = RuleSet.Compile(
            [Tier(1, Globs("/srv/**"), enabled: false), Tier(2, Globs("/srv/**"), hostId: Guid.NewGuid()), Tier(3, Globs("/srv/**"), hostId: host)],
            PathFlavor.Posix, Now, host, _ => null);
        var only = Assert.Single(rules.Rules);
        Assert.Equal(3, only.Rule.Priority);
    }

    [Fact]
    public void AStubOrAFileInFlightIsNeverMatched()
    {
        var rules = Compile(PathFlavor.Posix, Tier(1, Globs("/srv/**")));
        Assert.Equal(RuleSet.AlreadyTiered, Evaluate(rules, new TestFile(IsStub: true)));
        Assert.Equal(RuleSet.AlreadyTiered, Evaluate(rules, new TestFile(InFlight: true)));
        Assert.Equal(0, Evaluate(rules, new TestFile()));
    }

    [Fact]
    public void ATierRuleWhoseTargetIsUnusableStillClaimsItsFilesButPlansNothing()
    {
        var disabledTarget = Guid.NewGuid();
        var held = Tier(1, Globs("/srv/data/**"), targetId: disabledTarget);
        var fallback = Tier(2, Globs("/srv/**"));
        var rules = RuleSet.Compile([held, fallback], PathFlavor.Posix, Now, null, id => id == disabledTarget ? "target is disabled" : null);
        var match = rules.Rules[Evaluate(rules, new TestFile())];
        Assert.Equal(held.Id, match.Rule.Id);
        Assert.False(match.Plans);
        Assert.Equal("target is disabled", match.HeldBecause);
    }

    public static TheoryData<string, string, string, PathFlavor, bool> Flavors() => new()
    {
        { "POSIX is case-sensitive", "/srv/Data/**", "/srv/data/file.dat", PathFlavor.Posix, false },
        { "POSIX backslash escapes", @"/srv/data\/file.dat", "/srv/data/file.dat", PathFlavor.Posix, true },
        { "Windows ignores case", @"C:\Data\**", @"c:\DATA\file.dat", PathFlavor.Windows, true },
        { "Windows takes either slash in the glob", "C:/Data/**", @"C:\Data\file.dat", PathFlavor.Windows, true },
        { "Windows takes either slash in the path", @"C:\Data\**", "C:/Data/file.dat", PathFlavor.Windows, true },
        { "Windows star stays in one component", @"C:\*.dat", @"C:\Data\file.dat", PathFlavor.Windows, false },
        { "Windows UNC root", @"\\filer\share\**", @"\\FILER\share\a\b.dat", PathFlavor.Windows, true },
        { "Windows unrooted name", "*.DAT", @"D:\x\y\file.dat", PathFlavor.Windows, true },
        { "Windows drive letter anchors", @"D:\x\**", @"C:\D:\x\file.dat", PathFlavor.Windows, false },
    };

    [Theory]
    [MemberData(nameof(Flavors))]
    public void GlobsFollowTheHostsPathRules(string because, string glob, string path, PathFlavor flavor, bool expected) =>
        Assert.True(expected == Matches(Globs(glob), new TestFile(path), flavor), because);

    [Theory]
    [InlineData(PathFlavor.Posix, false)]
    [InlineData(PathFlavor.Windows, true)]
    public void RegexCaseFollowsTheHost(PathFlavor flavor, bool expected) =>
        Assert.Equal(expected, Matches(RuleCriteria.None with { PathRegex = @"\\DATA\\" }, new TestFile(@"C:\data\file.dat"), flavor));

    [Fact]
    public void EvaluatingAFileAllocatesNothing()
    {
        var rules = Compile(PathFlavor.Posix,
            Exclude(1, Globs("/srv/keep/**")),
            Tier(2, RuleCriteria.None with { PathRegex = @"/p\d+/", ExcludePathGlobs = ["*.tmp"], Extensions = ["dat", "log"] }),
            Tier(3, RuleCriteria.None with { ExcludeExtensions = ["iso"], AccessedOlderThanDays = 30, MinSizeBytes = 10 }));
        string[] paths = ["/srv/keep/a.dat", "/srv/x/p12/b.dat", "/srv/x/p12/c.tmp", "/srv/y/d.iso", "/srv/y/e.log"];
        var extensions = paths.Select(p => p[(p.LastIndexOf('.') + 1)..]).ToArray();
        long Run(int times)
        {
            long matched = 0;
            for (var i = 0; i < times; i++)
            {
                var n = i % paths.Length;
                matched += rules.Evaluate(new FileFacts(paths[n], extensions[n], 1000 + i, NowUnix - i * Day, NowUnix - i * Day));
            }
            return matched;
        }
        Run(1000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        Run(100_000);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1024, "the hot path allocated");
    }

    [Theory]
    [InlineData("", null)]
    [InlineData("/srv/[abc", 5)]
    [InlineData("/srv/{a,b", 5)]
    [InlineData("/srv/a}", 6)]
    [InlineData(@"/srv/a\", 6)]
    [InlineData("/srv/[z-a]", 6)]
    public void BadGlobsAreRefusedWithTheirPosition(string glob, int? position)
    {
        var error = Assert.Throws<PatternException>(() => GlobPattern.ToRegexPattern(glob, PathFlavor.Posix));
        Assert.Equal(position, error.Position);
    }

    [Fact]
    public void ABracketFirstInAClassIsAMemberNotItsEnd()
    {
        Assert.True(Matches(Globs("/srv/[]]x"), new TestFile("/srv/]x")));
        Assert.False(Matches(Globs("/srv/[]]x"), new TestFile("/srv/ax")));
    }

    [Theory]
    [InlineData("(unclosed", 9)]
    [InlineData("[z-a]", 4)]
    [InlineData("a{2,1}", 6)]
    [InlineData("*x", 1)]
    public void BadRegexesAreRefusedWithTheirPosition(string pattern, int position)
    {
        var error = Assert.Throws<PatternException>(() => PathRegex.Vet(pattern));
        Assert.Equal(position, error.Position);
        Assert.Contains("not a valid regular expression", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Patterns that backtrack catastrophically on a backtracking engine (anchored regexes, and the
    /// globs that become nested stars) are accepted and cost nothing: 300 hostile 4,000-character
    /// paths, each a near miss, are judged well within a second, as include and as exclude.
    /// </summary>
    [Theory]
    [InlineData("^/srv/x/(a|aa)+$", null)]
    [InlineData("(a+)+$", null)]
    [InlineData(@"^(\w+\s?)+$", null)]
    [InlineData("^(a|ab|b)*c$", null)]
    [InlineData("(.*a){12}$", null)]
    [InlineData(null, "/srv/x/**/**/**/**/**/*a*a*a*a*a*a*a*a*b")]
    [InlineData(null, "**/*a*a*a*a*a*a*a*a*a*a*a*a*c")]
    public void CatastrophicPatternsAreHarmless(string? regex, string? glob)
    {
        if (regex is not null)
        {
            PathRegex.Vet(regex);
        }
        var pattern = regex is not null ? RuleCriteria.None with { PathRegex = regex } : Globs(glob!);
        var excluding = regex is not null ? RuleCriteria.None with { ExcludePathRegex = regex } : RuleCriteria.None with { ExcludePathGlobs = [glob!] };
        Assert.Empty(RuleCriteriaCheck.Problems(pattern));
        var rules = Compile(PathFlavor.Posix, Tier(1, pattern), Tier(2, excluding with { ModifiedOlderThanDays = 1 }));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        for (var i = 0; i < 300; i++)
        {
            var hostile = "/srv/x/" + new string('a', 4000 + i) + (i % 2 == 0 ? "!" : "/a b");
            Assert.Equal(1, Evaluate(rules, new TestFile(hostile)));
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"300 matches took {clock.Elapsed}");
        Assert.Equal(0, rules.RegexTimeouts);
    }

    [Theory]
    [InlineData(@"(a)\1", "backreference")]
    [InlineData("/srv/(?=x)", "look")]
    [InlineData("(?>a+)b", "atomic")]
    public void ConstructsTheLinearEngineLacksAreRefusedWithTheReason(string pattern, string mentioned)
    {
        var error = Assert.Throws<PatternException>(() => PathRegex.Vet(pattern));

        Assert.Contains("not usable in a rule", error.Message, StringComparison.Ordinal);
        Assert.Contains(mentioned, error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void AMatchThatRunsOutOfTimeFailsClosedTheFileIsNeverPlanned()
    {
        var path = "/srv/keep/" + new string('a', 200_000);
        var exclude = Exclude(1, RuleCriteria.None with { PathRegex = "^/srv/keep/(a|aa)+$" });
        var tierAll = Tier(2, RuleCriteria.None with { ModifiedOlderThanDays = 1 });
        var tierWithExcludedPattern = Tier(1, RuleCriteria.None with { ModifiedOlderThanDays = 1, ExcludePathRegex = "^/srv/keep/(a|aa)+$" });

        var excluding = RuleSet.Compile([exclude, tierAll], PathFlavor.Posix, Now, null, _ => null, matchTimeout: TimeSpan.FromTicks(1));
        var tiering = RuleSet.Compile([tierWithExcludedPattern], PathFlavor.Posix, Now, null, _ => null, matchTimeout: TimeSpan.FromTicks(1));

        // The exclude rule whose match timed out keeps the file; a tier rule whose exclusion timed out does not take it.
        Assert.Equal(0, Evaluate(excluding, new TestFile(path)));
        Assert.Equal(RuleSet.NoMatch, Evaluate(tiering, new TestFile(path)));
        Assert.True(excluding.RegexTimeouts > 0 && tiering.RegexTimeouts > 0);
    }

    [Fact]
    public void ARulesPatternsTogetherHaveALimit()
    {
        var many = Enumerable.Range(0, RuleCriteriaCheck.MaxPatterns).Select(i => $"/srv/{i}/" + new string('x', 400)).ToArray();

        var problems = RuleCriteriaCheck.Problems(RuleCriteria.None with { PathGlobs = many });

        Assert.Contains(problems, problem => problem.Message.Contains("at most 16384", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(@"([^/]+/)*old/", "/srv/a/old/x.txt", "/srv/a/older/x.txt")]
    [InlineData(@"\.(tmp|bak)$", "/srv/x.bak", "/srv/x.bak.txt")]
    [InlineData(@"^/srv/projects/[0-9]{4}/archive/", "/srv/projects/2019/archive/a.mov", "/srv/projects/19/archive/a.mov")]
    [InlineData(@".*\.iso$", "/srv/images/disk.iso", "/srv/images/disk.iso.part")]
    public void OrdinaryPathRegexesPassVettingAndMatchWhatTheySay(string pattern, string matching, string other)
    {
        PathRegex.Vet(pattern);
        var regex = PathRegex.Create(pattern, PathFlavor.Posix);
        Assert.True(regex.IsMatch(matching), matching);
        Assert.False(regex.IsMatch(other), other);
    }
}
