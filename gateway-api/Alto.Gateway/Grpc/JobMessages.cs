using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Tenants;
using Alto.GrainInterfaces.Tiers;
using Alto.Protocol.Agent.V1;
using Grpc.Core;

namespace Alto.Gateway.Grpc;

/// <summary>Tiering jobs and their results between grain contracts and the agent protocol, with the results validated.</summary>
public static class JobMessages
{
    public const int MaxResultsPerMessage = 1000;

    public static GatewayMessage ToMessage(TierJobPayload job)
    {
        var message = new TieringJob
        {
            JobId = job.JobId.ToString(),
            TenantId = job.TenantId.ToString(),
            TargetId = job.Target.Id.ToString(),
            Target = ToStorageTarget(job.Target),
            Cancelled = job.Cancelled,
        };
        message.Files.AddRange(job.Files.Select(file => new TieringFile
        {
            TierObjectId = file.TierObjectId,
            FilePath = file.Path,
            PathEscaped = file.PathEscaped,
            SizeBytes = file.SizeBytes,
            MtimeUnix = file.ModifiedUnix,
            DataKey = file.Key is { } key ? Google.Protobuf.ByteString.CopyFrom(key.Key) : Google.Protobuf.ByteString.Empty,
            WrappedDataKey = file.Key?.Wrapped ?? "",
        }));
        return new GatewayMessage { Id = JobMessageIds.Of(job.JobId, job.Attempt), TieringJob = message };
    }

    /// <summary>A target with its secrets as the agent protocol carries it.</summary>
    public static StorageTarget ToStorageTarget(AgentTarget target)
    {
        var settings = target.Settings;
        var credentials = target.Credentials;
        return new StorageTarget
        {
            Kind = KindName(target.Kind),
            Path = settings.Path ?? "",
            Bucket = settings.Bucket ?? "",
            Region = settings.Region ?? "",
            Endpoint = settings.Endpoint ?? "",
            Prefix = settings.Prefix ?? "",
            Container = settings.Container ?? "",
            AccountUrl = settings.AccountUrl ?? "",
            ForcePathStyle = settings.ForcePathStyle,
            AccessKeyId = credentials?.AccessKeyId ?? "",
            SecretAccessKey = credentials?.SecretAccessKey ?? "",
            ConnectionString = credentials?.ConnectionString ?? "",
            AccountName = credentials?.AccountName ?? "",
            AccountKey = credentials?.AccountKey ?? "",
            SasToken = credentials?.SasToken ?? "",
            Compression = settings.Compression ?? "",
            UseHostIdentity = settings.UseHostIdentity,
        };
    }

    /// <summary>The results of a JobResult message, or an InvalidArgument status naming what is wrong.</summary>
    public static (Guid JobId, TierFileResult[] Results) FromMessage(JobResult result)
    {
        if (!Guid.TryParse(result.JobId, out var jobId))
        {
            throw Invalid("job_result.job_id is not a job id");
        }
        if (result.Files.Count > MaxResultsPerMessage)
        {
            throw Invalid($"job_result carries {result.Files.Count} files; at most {MaxResultsPerMessage}");
        }
        var files = new TierFileResult[result.Files.Count];
        for (var i = 0; i < files.Length; i++)
        {
            var file = result.Files[i];
            if (file.TierObjectId <= 0)
            {
                throw Invalid($"job_result.files[{i}].tier_object_id must be positive");
            }
            var outcome = file.Outcome switch
            {
                FileOutcome.Stubbed => TierFileOutcome.Stubbed,
                FileOutcome.Skipped => TierFileOutcome.Skipped,
                FileOutcome.Failed => TierFileOutcome.Failed,
                FileOutcome.Unavailable => TierFileOutcome.Unavailable,
                FileOutcome.Refused => TierFileOutcome.Refused,
                FileOutcome.Cancelled => TierFileOutcome.Cancelled,
                _ => throw Invalid($"job_result.files[{i}].outcome is missing or unknown"),
            };
            if (outcome == TierFileOutcome.Stubbed
                && (file.Sha256.Length != 64 || !file.Sha256.All(char.IsAsciiHexDigitLower) || file.Locator.Length is 0 or > 1024
                    || file.Locator.Contains('\0', StringComparison.Ordinal)))
            {
                throw Invalid($"job_result.files[{i}]: a stubbed file needs its SHA-256 (64 lower-case hex digits) and its locator (without NUL)");
            }
            files[i] = new TierFileResult(file.TierObjectId, outcome, AgentText.ReadableOrNull(file.Sha256, 64), AgentText.ReadableOrNull(file.Locator, 1024),
                AgentText.ReadableOrNull(file.Reason, 2000));
        }
        return (jobId, files);
    }

    private static string KindName(StorageTargetKind kind) => kind switch
    {
        StorageTargetKind.Path => "path",
        StorageTargetKind.S3 => "s3",
        _ => "azure",
    };

    private static RpcException Invalid(string detail) => new(new Status(StatusCode.InvalidArgument, detail));
}
