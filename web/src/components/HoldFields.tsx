/** What an admin says when stopping work (declining a job, cancelling one): why, and how long the files not tiered stay out of plans. */
export interface Hold {
  reason: string;
  holdDays: number;
}

/**
 * The reason and the days to hold, for an action on jobs named by its verb ("decline") and what
 * it makes of files ("declined"). The gateway takes 1 to 365 days and at most 500 characters.
 */
export function HoldFields({ verb, done, hold, onChange }: { verb: string; done: string; hold: Hold; onChange: (hold: Hold) => void }) {
  return (
    <p className="actions">
      <label>
        Reason to {verb} <input value={hold.reason} maxLength={500} onChange={(event) => onChange({ ...hold, reason: event.target.value })} />
      </label>{" "}
      <label>
        Keep {done} files out of plans for (days){" "}
        <input type="number" min={1} max={365} value={hold.holdDays} onChange={(event) => onChange({ ...hold, holdDays: Number(event.target.value) })} />
      </label>
    </p>
  );
}
