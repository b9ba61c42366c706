using Alto.Rules;

namespace Alto.Grains.Planning;

/// <summary>A tiering job being filled: one rule's files (so one target and one priority), at most <see cref="JobPacker.MaxFiles"/>.</summary>
public sealed record PackedJob(Guid Id, Guid RuleId, Guid TargetId, int Priority)
{
    public int Files { get; set; }

    public long Bytes { get; set; }
}

/// <summary>Puts newly planned files into jobs per rule, opening a new job every thousand files.</summary>
public sealed class JobPacker(RuleSet rules)
{
    public const int MaxFiles = 1000;

    private readonly PackedJob?[] _open = new PackedJob?[rules.Rules.Count];
    private readonly List<PackedJob> _jobs = [];

    public IReadOnlyList<PackedJob> Jobs => _jobs;

    /// <summary>The job a newly planned file of rule <paramref name="ruleIndex"/> goes into.</summary>
    public Guid Place(int ruleIndex, long sizeBytes)
    {
        var job = _open[ruleIndex];
        if (job is null || job.Files == MaxFiles)
        {
            var rule = rules.Rules[ruleIndex].Rule;
            job = new PackedJob(Guid.CreateVersion7(), rule.Id, rule.TargetId!.Value, rule.Priority);
            _open[ruleIndex] = job;
            _jobs.Add(job);
        }
        job.Files++;
        job.Bytes += sizeBytes;
        return job.Id;
    }
}
