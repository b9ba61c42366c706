namespace Alto.Agent.Recall;

/// <summary>What the agent reports of its recall with every heartbeat (the cluster dispatches only below armed volumes).</summary>
public interface IRecallStatus
{
    /// <summary>Every volume asked for, armed or with the reason it is not.</summary>
    IReadOnlyList<VolumeRecall> Volumes { get; }

    /// <summary>Whether recall outlives the agent process (a guard keeps the group).</summary>
    bool SurvivesRestart { get; }

    /// <summary>Why recall is not armed at all or would not outlive the process; null when all is well.</summary>
    string? Problem { get; }

    /// <summary>Recalls on open since the agent started: done, failed (EIO), refused as not the file's own stub (EPERM).</summary>
    (long Recalled, long Failed, long Refused) Counts { get; }

    /// <summary>Opens of stubs waiting now for their recall to start (a few run at once).</summary>
    int Waiting { get; }
}
