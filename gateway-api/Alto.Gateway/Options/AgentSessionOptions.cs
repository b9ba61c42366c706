using System.ComponentModel.DataAnnotations;

namespace Alto.Gateway.Options;

/// <summary>Agent sessions on the gRPC port.</summary>
public sealed class AgentSessionOptions
{
    public const string Section = "Alto:Agents";

    /// <summary>How often agents are told to send a heartbeat.</summary>
    [Range(1, 3600)]
    public int HeartbeatSeconds { get; set; } = 30;

    /// <summary>A host with no heartbeat for this long is marked offline.</summary>
    [Range(2, 86400)]
    public int HeartbeatTimeoutSeconds { get; set; } = 90;

    /// <summary>Largest single message an agent may send.</summary>
    [Range(1024, 64 << 20)]
    public int MaxMessageBytes { get; set; } = 1 << 20;

    /// <summary>Sustained messages per second one session may send (bursts of twice that pass).</summary>
    [Range(1, 100_000)]
    public int MessagesPerSecond { get; set; } = 50;

    /// <summary>How long a new session has to say hello.</summary>
    [Range(1, 600)]
    public int HelloTimeoutSeconds { get; set; } = 15;
}
