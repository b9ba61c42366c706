using System.CommandLine;
using Alto.Agent.Jobs;
using Alto.Agent.Stubs;

namespace Alto.Agent.Cli;

/// <summary><c>alto-agent recover</c>: settles what an earlier run left unfinished (also done at every start of run and tier).</summary>
public static class RecoverCommand
{
    public static Command Create()
    {
        var stateDirectory = AgentOptions.StateDirectory();
        var command = new Command("recover", "Finish or roll back operations a crash interrupted") { stateDirectory };
        command.SetAction(parse =>
        {
            if (!OperatingSystem.IsLinux())
            {
                Console.Error.WriteLine("alto-agent recover: this build makes Linux stubs only");
                return 2;
            }
            var state = parse.GetValue(stateDirectory)!;
            if (!Directory.Exists(state))
            {
                // Nothing can have been interrupted where no agent ever kept a journal; a mistyped folder is said, not made.
                Console.Error.WriteLine($"alto-agent recover: no state folder at {state}, so no journal to settle (give --state-dir or set ALTO_AGENT_STATE_DIR)");
                return 2;
            }
            using var recall = HeldRecall.TryHold("recover", state, [], HeldRecall.NoStore);
            if (recall is null)
            {
                return 2;
            }
            using var journal = new OperationJournal(state);
            var settled = JournalRecovery.Recover(journal, new LinuxStubDriver(recall.Hooks));
            foreach (var item in settled)
            {
                Console.WriteLine(item.Unsettled is { } why
                    ? $"{item.Operation} of {item.Path}: not settled now: {why}; it stays in the journal"
                    : $"{item.Operation} of {item.Path}: {(item.IsStub ? "a valid stub" : "the original file")}");
            }
            var unsettled = settled.Count(item => item.Unsettled is not null);
            Console.WriteLine($"{settled.Count - unsettled} interrupted operation(s) settled" + (unsettled > 0 ? $", {unsettled} not settled now" : ""));
            // Not every operation is settled: a script running this must not take it for done.
            return unsettled > 0 ? 1 : 0;
        });
        return command;
    }
}
