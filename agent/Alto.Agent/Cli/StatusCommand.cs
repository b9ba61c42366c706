using System.CommandLine;
using System.Globalization;
using Alto.Agent.Connection;
using Alto.Agent.Enrollment;

namespace Alto.Agent.Cli;

/// <summary>
/// <c>alto-agent status</c>: the running agent's session and recall, and whether the gateway
/// answers on both ports and the cluster behind it is ready. The gateway is the one this state
/// folder enrolled with, unless --gateway/--grpc say otherwise.
/// </summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var gateway = UrlOption.Create("--gateway", "The gateway's HTTP address (REST, health); default: the one enrolled with", "http://127.0.0.1:8080");
        var grpc = UrlOption.Create("--grpc", "The gateway's gRPC (h2c) address; default: the one enrolled with", "http://127.0.0.1:8081");
        var stateDirectory = AgentOptions.StateDirectory();
        var command = new Command("status", "The running agent's session and recall, and whether the gateway answers on HTTP and gRPC") { gateway, grpc, stateDirectory };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var state = parse.GetValue(stateDirectory)!;
            if (await ReadAgentStatusAsync(state, cancellationToken) is { } agent)
            {
                Console.WriteLine($"agent:          {agent.AgentVersion} (pid {agent.ProcessId}), {(agent.Connected ? "connected" : "not connected")} to {agent.Gateway ?? "-"} (session {agent.SessionId ?? "-"}, {agent.Sessions} session(s) so far)");
                Console.WriteLine($"last heartbeat: {agent.LastHeartbeatSent?.ToString("u", CultureInfo.InvariantCulture) ?? "never"}; command queue {agent.QueueDepth}; reports not yet acknowledged {agent.PendingReports}; status written {agent.WrittenAt:u}");
                Console.WriteLine($"recall:         {(agent.RecallProblem is { } problem ? "NOT ARMED or not guarded: " + problem : agent.RecallSurvivesRestart ? "armed, kept by the recall guard across restarts" : "armed")}");
                foreach (var volume in agent.RecallVolumes)
                {
                    Console.WriteLine($"  {volume.Path}: {(volume.Armed ? "armed" : "not armed: " + volume.Reason)}");
                }
                if (agent.RecallsWaiting > 0)
                {
                    Console.WriteLine($"  {agent.RecallsWaiting} open(s) of stubs waiting for their recall to start (run --recalls-at-once)");
                }
                if (agent.UnsettledProblem is { } unsettled)
                {
                    Console.WriteLine($"journal:        {unsettled}");
                }
                if (agent.LastError is { } error)
                {
                    Console.WriteLine($"last error:     {error}");
                }
            }
            if (OperatingSystem.IsLinux())
            {
                Console.WriteLine($"recall guard:   {Recall.RecallGuardClient.Status(state) ?? "not running"}");
            }
            // The gateway this host enrolled with, unless told otherwise.
            var (enrolled, notEnrolled, damaged) = await EnrolmentAsync(state, cancellationToken);
            if (notEnrolled is not null)
            {
                Console.WriteLine($"enrolled:       {notEnrolled}");
            }
            var http1 = parse.GetResult(gateway) is { Implicit: false } || enrolled is null ? parse.GetUri(gateway) : enrolled.Gateway;
            var http2 = parse.GetResult(grpc) is { Implicit: false } || enrolled is null ? parse.GetUri(grpc) : enrolled.Grpc;
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var status = await new GatewayProbe(http).ProbeAsync(http1, http2, cancellationToken);
            Console.WriteLine($"gateway:        {http1} (HTTP), {http2} (gRPC){(enrolled is null ? "" : " as enrolled")}");
            Console.WriteLine($"gateway alive:  {Word(status.Alive)}");
            Console.WriteLine($"cluster ready:  {Word(status.Ready)} ({status.ReadinessReport})");
            Console.WriteLine($"agent channel:  {Word(status.GrpcServing)} (gRPC health {status.GrpcReport})");
            // A damaged credential fails the status like a gateway that does not answer; a host not enrolled yet does not (a check before enrolling).
            return status.Healthy && !damaged ? 0 : 1;
        });
        return command;
    }

    /// <summary>What the running agent last wrote of itself; null (said) when its status file cannot be read.</summary>
    private static async Task<AgentStatusSnapshot?> ReadAgentStatusAsync(string state, CancellationToken cancellationToken)
    {
        try
        {
            return await AgentStatusSnapshot.ReadAsync(state, cancellationToken);
        }
        catch (InvalidDataException exception)
        {
            Console.WriteLine($"agent:          {exception.Message}");
            return null;
        }
    }

    /// <summary>
    /// The credential kept in the state folder, or null and why this host is not enrolled there (the
    /// gateway is then probed at the address given or the default); <c>Damaged</c> when a credential
    /// file is there but cannot be used.
    /// </summary>
    private static async Task<(AgentCredentials? Credentials, string? WhyNot, bool Damaged)> EnrolmentAsync(string state, CancellationToken cancellationToken)
    {
        try
        {
            return await AgentCredentials.LoadAsync(state, cancellationToken) is { } credentials ? (credentials, null, false)
                : Directory.Exists(state) ? (null, $"no: no credential in {state} (alto-agent enroll)", false)
                : (null, $"no: no state folder at {state} (alto-agent enroll, or give --state-dir or set ALTO_AGENT_STATE_DIR)", false);
        }
        catch (InvalidDataException exception)
        {
            return (null, "NO: " + exception.Message, true);
        }
    }

    private static string Word(bool ok) => ok ? "yes" : "NO";
}
