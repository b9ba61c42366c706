using Alto.Agent.Connection;
using Alto.Agent.Stubs;
using Alto.Protocol.Agent.V1;
using Alto.Scanning;
using Microsoft.Extensions.Logging;
using ProtocolJob = Alto.Protocol.Agent.V1.TieringJob;
using ProtocolOutcome = Alto.Protocol.Agent.V1.FileOutcome;

namespace Alto.Agent.Jobs;

/// <summary>
/// A tiering job from the cluster, run by <see cref="JobExecutor"/> and answered with JobResult
/// messages in batches, the last one marked finished. The results go through the
/// <see cref="ReportOutbox"/>: kept on disk until the gateway acknowledges them, sent again after a
/// reconnect. A file <paramref name="refusal"/> names (recall on open not armed for it) is refused
/// without being touched.
/// </summary>
public sealed class AgentJobRunner(
    OperationJournal journal, IStubDriver stubs, TargetDirectory targets, BandwidthThrottle throttle, JobCancellations cancellations, ILogger logger,
    Func<string, string?>? refusal)
{
    public const int ResultsPerMessage = 500;

    public async Task RunAsync(ProtocolJob message, ReportOutbox reports, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(message.JobId, out var jobId) || !Guid.TryParse(message.TenantId, out var tenantId)
            || !Guid.TryParse(message.TargetId, out var targetId) || message.Target is null)
        {
            throw new InvalidOperationException("the tiering job lacks its ids or its target");
        }
        targets.Remember(targetId, TargetDirectory.ToTierTarget(message.Target));
        var results = new List<FileResult>();
        // A name that is not valid UTF-8 reaches the agent escaped (\xHH); on Linux the agent opens it by its
        // own bytes (RawPaths).
        var files = new List<JobFile>(message.Files.Count);
        foreach (var file in message.Files)
        {
            var why = file.PathEscaped && !OperatingSystem.IsLinux() ? "names escaped as bytes are tiered on Linux only; the file is kept"
                : !file.DataKey.IsEmpty && (file.DataKey.Length != 32 || file.WrappedDataKey.Length == 0)
                    // A key that is not 256 bits is not used: such a file fails rather than going to tier 2 unencrypted.
                    ? "the job's data key for this file is not valid; the file is kept"
                : file.PathEscaped && !PathEncoding.IsWellFormed(file.FilePath, PathEncodingKind.Escaped) ? "the escaped path is not well formed; the file is kept"
                : null;
            if (why is not null)
            {
                results.Add(new FileResult { TierObjectId = file.TierObjectId, Outcome = ProtocolOutcome.Failed, Reason = why });
                continue;
            }
            files.Add(new JobFile(file.TierObjectId, file.PathEscaped ? RawPaths.FromEscaped(file.FilePath) : file.FilePath, file.SizeBytes, file.MtimeUnix)
            {
                Key = file.DataKey.IsEmpty ? null : new ObjectKey(file.DataKey.ToByteArray(), file.WrappedDataKey),
            });
        }
        var job = new TieringJob(jobId, tenantId, targetId, targets.ToTierTargetOf(targetId), [.. files]);
        IReadOnlyList<FileOutcome> outcomes;
        using (var running = cancellations.Start(jobId, message.Cancelled))
        {
            outcomes = await new JobExecutor(journal, stubs, logger, openStore: _ => targets.Store(targetId), throttle: throttle, refusal: refusal)
                .ExecuteAsync(job, null, cancellationToken, running.Stop);
        }
        results.AddRange(outcomes.Select(ToResult));

        var batches = results.Chunk(ResultsPerMessage).ToList();
        if (batches.Count == 0)
        {
            batches.Add([]);
        }
        for (var i = 0; i < batches.Count; i++)
        {
            var result = new JobResult { JobId = message.JobId, JobFinished = i == batches.Count - 1 };
            result.Files.AddRange(batches[i]);
            reports.Add(new AgentMessage { Id = Guid.NewGuid().ToString("N"), JobResult = result });
        }
    }

    private static FileResult ToResult(FileOutcome outcome) => new()
    {
        TierObjectId = outcome.TierObjectId,
        Outcome = outcome.Kind switch
        {
            FileOutcomeKind.Stubbed => ProtocolOutcome.Stubbed,
            FileOutcomeKind.Skipped => ProtocolOutcome.Skipped,
            FileOutcomeKind.Failed => ProtocolOutcome.Failed,
            FileOutcomeKind.Refused => ProtocolOutcome.Refused,
            FileOutcomeKind.Cancelled => ProtocolOutcome.Cancelled,
            _ => ProtocolOutcome.Unavailable,
        },
        Sha256 = outcome.Sha256 ?? "",
        Locator = outcome.Locator ?? "",
        Reason = outcome.Reason ?? "",
    };
}
