using System.Text.Json.Serialization;

namespace Alto.Scanning;

/// <summary>
/// A batch of LucidLink trail updates as the agent sends it to POST /api/v1/audit-updates (the
/// seed's "audit update" format, snake_case). Every member may be missing on the wire: the
/// gateway says which, and refuses the batch whole.
/// </summary>
public sealed record TrailUpdateBatch(
    [property: JsonPropertyName("update_batch_id")] Guid? UpdateBatchId,
    [property: JsonPropertyName("customer_id")] Guid? CustomerId,
    [property: JsonPropertyName("volume_id")] Guid? VolumeId,
    [property: JsonPropertyName("source_type")] string? SourceType,
    [property: JsonPropertyName("collected_at"), JsonConverter(typeof(ZonedTimeConverter))] DateTimeOffset? CollectedAt,
    [property: JsonPropertyName("updates")] TrailUpdate[]? Updates)
{
    /// <summary>The only source there is: LucidLink's audit trail.</summary>
    public const string LucidLinkSource = "lucidlink_audit";
}

/// <summary>One update: the file's inventory path, what happened (read, write, delete, move) and when; a move's new path.</summary>
public sealed record TrailUpdate(
    [property: JsonPropertyName("file_path")] string? FilePath,
    [property: JsonPropertyName("access_type")] string? AccessType,
    [property: JsonPropertyName("last_accessed"), JsonConverter(typeof(ZonedTimeConverter))] DateTimeOffset? LastAccessed,
    [property: JsonPropertyName("target_path"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TargetPath,
    [property: JsonPropertyName("audit_file"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? AuditFile = null);
