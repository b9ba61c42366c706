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
