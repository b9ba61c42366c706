using System.Runtime.Versioning;
using Alto.Agent.Recall;
using Alto.Tiering;

namespace Alto.Agent.Cli;

/// <summary>
/// Recall for a command that acts on the volumes' files by itself (tier, recover, recall with a
/// target): it holds the group for as long as it runs, so its own opens pass, other programs'
/// opens of stubs are answered meanwhile, and every stub it makes is watched from the start.
/// </summary>
internal static class HeldRecall
{
    /// <summary>The recall this command holds, or null after saying why it cannot (another agent process holds it).</summary>
    [SupportedOSPlatform("linux")]
    public static ArmedRecall? TryHold(string command, string stateDirectory, IEnumerable<string> volumes, Func<Guid, ITierStore> stores)
    {
        try
        {
            return ArmedRecall.Start(stateDirectory, RecallGuarding.Auto, volumes, stores, CommandLog.Logger);
        }
        catch (RecallHeldElsewhereException exception) when (exception.ProcessId > 0)
        {
            Console.Error.WriteLine($"alto-agent {command}: the running agent (pid {exception.ProcessId}) holds recall on this host: "
                                    + "it does this work itself (jobs come through the cluster; it settles its journal at start); stop it first to do it by hand");
            return null;
        }
        catch (RecallHeldElsewhereException exception)
        {
            Console.Error.WriteLine($"alto-agent {command}: {exception.Message}");
            return null;
        }
    }

    /// <summary>Opens of stubs while the command runs can only be answered from the stores it knows.</summary>
    public static ITierStore NoStore(Guid targetId) =>
        throw new TierStoreUnavailableException($"target {targetId} is not known to this command; the running agent recalls it once it is back");
}
