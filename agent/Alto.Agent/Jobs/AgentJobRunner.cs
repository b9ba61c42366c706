using System.Diagnostics;
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
/// messages in batches as the files' outcomes come (every <see cref="ResultsPerMessage"/> files, or
/// <see cref="ProgressEvery"/>, so a long job shows its progress and a crash loses no report of a
/// file already done), the last one marked finished. The results go through the
/// <see cref="ReportOutbox"/>: kept on disk until the gateway acknowledges them, sent again after a
/// reconnect. A file <paramref name="refusal"/> names (recall on open not armed for it) is refused
/// without being touched.
/// </summary>
public sealed class AgentJobRunner(
    OperationJournal journal, IStubDriver stubs, TargetDirectory targets, BandwidthThrottle throttle, JobCancellations cancellations, ILogger logger,
    Func<string, string?>? refusal)
{
    public const int ResultsPerMessage = 500;

    /// <summary>How long outcomes wait at most before they are reported while the job goes on.</summary>
    public static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(2);

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
        var progress = new ProgressReports(message.JobId, reports, results);
        IReadOnlyList<FileOutcome> outcomes;
        using (var running = cancellations.Start(jobId, message.Cancelled))
        {
            outcomes = await new JobExecutor(journal, stubs, logger, openStore: _ => targets.Store(targetId), throttle: throttle, refusal: refusal)
                .ExecuteAsync(job, progress.Add, cancellationToken, running.Stop);
        }
        progress.Finish(outcomes);
    }

    /// <summary>
    /// The job's outcomes on their way to the cluster: sent in a batch once <see cref="ResultsPerMessage"/>
    /// wait or the oldest has waited <see cref="ProgressEvery"/>; the rest, and those the executor gave
    /// only at its end, in the last batches, the very last marked finished.
    /// </summary>
    private sealed class ProgressReports(string jobId, ReportOutbox reports, List<FileResult> waiting)
    {
        private readonly HashSet<long> _reported = [];
        private long _waitingSince = Stopwatch.GetTimestamp();

        /// <summary>One file's outcome, as the executor reports it (one at a time).</summary>
        public void Add(FileOutcome outcome)
        {
            _reported.Add(outcome.TierObjectId);
            if (waiting.Count == 0)
            {
                _waitingSince = Stopwatch.GetTimestamp();
            }
            waiting.Add(ToResult(outcome));
            if (waiting.Count >= ResultsPerMessage || Stopwatch.GetElapsedTime(_waitingSince) >= ProgressEvery)
            {
                Send(waiting, finished: false);
                waiting.Clear();
            }
        }

        public void Finish(IReadOnlyList<FileOutcome> outcomes)
        {
            waiting.AddRange(outcomes.Where(outcome => !_reported.Contains(outcome.TierObjectId)).Select(ToResult));
            var batches = waiting.Chunk(ResultsPerMessage).ToList();
            if (batches.Count == 0)
            {
                batches.Add([]);
            }
            for (var i = 0; i < batches.Count; i++)
            {
                Send(batches[i], finished: i == batches.Count - 1);
            }
        }

        private void Send(IEnumerable<FileResult> files, bool finished)
        {
            var result = new JobResult { JobId = jobId, JobFinished = finished };
            result.Files.AddRange(files);
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
