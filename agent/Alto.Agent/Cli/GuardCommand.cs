using System.CommandLine;
using Alto.Agent.Recall;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Cli;

/// <summary>
/// <c>alto-agent guard</c>: the recall guard (<see cref="RecallGuard"/>), which keeps transparent
/// recall alive while the agent restarts. <c>alto-agent run</c> starts it when none runs; under
/// systemd it is a unit of its own (<c>alto-agent-guard.service</c>), started before the agent and
/// before the services that use the volumes.
/// </summary>
public static class GuardCommand
{
    public static Command Create()
    {
        var stateDirectory = AgentOptions.StateDirectory();
        var holdSeconds = new Option<int>("--hold-seconds")
        {
            Description = "How long an open of a stub waits for an agent before it gets EIO",
            DefaultValueFactory = _ => 120,
        };
        var command = new Command("guard", "Keep transparent recall alive across agent restarts (started by run; a systemd unit of its own)") { stateDirectory, holdSeconds };
        command.SetAction(parse =>
        {
            if (!OperatingSystem.IsLinux())
            {
                Console.Error.WriteLine("alto-agent guard: transparent recall is built for Linux only");
                return 2;
            }
            var state = Path.GetFullPath(parse.GetValue(stateDirectory)!);
            if (parse.GetValue(holdSeconds) is < 1 or > 86_400)
            {
                Console.Error.WriteLine("alto-agent guard: --hold-seconds must be between 1 and 86400");
                return 2;
            }
            // A mistyped folder would get a guard of its own that no agent ever reaches, while the
            // agent's stubs have none: the agent (run) and systemd (StateDirectory=) make the real one first.
            if (!Directory.Exists(state))
            {
                Console.Error.WriteLine($"alto-agent guard: the state folder {state} does not exist; give the agent's (its run --state-dir, {AgentOptions.DefaultStateDirectory} unless told)");
                return 2;
            }
            Tiering.PrivateFiles.EnsureStateDirectory(state);
            // Detached from whoever started it: its own session, its output in its log.
            UnixSockets.StartSession();
            UnixSockets.RedirectStandardStreams(Path.Combine(state, RecallGuard.LogName));
            using var loggers = LoggerFactory.Create(logging => logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                console.UseUtcTimestamp = true;
            }));
            using var stop = new CancellationTokenSource();
            void Stop(System.Runtime.InteropServices.PosixSignalContext signal)
            {
                signal.Cancel = true;
                stop.Cancel();
            }
            using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Stop);
            using var onInt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, Stop);
            var guard = new RecallGuard(state, TimeSpan.FromSeconds(parse.GetValue(holdSeconds)), loggers.CreateLogger<RecallGuard>());
            // Under systemd (Type=notify) the agent's unit starts once the guard listens, not when its process forks:
            // an agent that found no guard yet would hold recall alone, and its next restart leave stubs reading holes.
            // There it stands by behind a guard that already serves (one an agent started), to take over when it ends.
            var systemd = new SystemdNotifier();
            return guard.Run(stop.Token, systemd.IsEnabled ? () => systemd.Notify(ServiceState.Ready) : null, standBy: systemd.IsEnabled);
        });
        return command;
    }
}
