/** Files each job reported done or failed since the page opened, from the live job.progress events. */
export type JobTally = Record<string, { reported: number; failed: number }>;

/** Adds one job.progress event ({ jobId, reported: { outcome: files } }) to the tally. */
export function addJobProgress(tally: JobTally, data: Record<string, unknown>): JobTally {
  const jobId = typeof data.jobId === "string" ? data.jobId : null;
  const reported = (data.reported ?? {}) as Record<string, number>;
  if (!jobId) {
    return tally;
  }
  const before = tally[jobId] ?? { reported: 0, failed: 0 };
  const files = Object.values(reported).reduce((sum, count) => sum + Number(count), 0);
  return { ...tally, [jobId]: { reported: before.reported + files, failed: before.failed + Number(reported.failed ?? 0) } };
}

/** The states a file passes through on its way to tier 2, in order; the rest are where it ends. */
export const InFlightStates = ["PLANNED", "DISPATCHED", "UPLOADING", "UPLOADED"];

/** Files moving into each state per second, from one tier.states event ({ seconds, states: { STATE: { files, bytes } } }). */
export function statesRate(data: Record<string, unknown>): { state: string; filesPerSecond: number }[] {
  const seconds = Number(data.seconds ?? 1) || 1;
  const states = (data.states ?? {}) as Record<string, { files: number }>;
  return Object.entries(states).map(([state, count]) => ({ state, filesPerSecond: count.files / seconds }));
}

/**
 * Whether a live event changes what waits for approval: a plan, a job's progress, jobs planned
 * to wait, or (through the audit trail's live events) an approval or decline made elsewhere.
 */
export function changesApprovals(event: { kind: string; data: Record<string, unknown> }): boolean {
  if (event.kind === "audit") {
    return event.data.action === "tier.jobs_approved" || event.data.action === "tier.jobs_declined";
  }
  return event.kind === "plan.completed" || event.kind === "approval.needed" || event.kind === "job.progress";
}

/** The statuses of a job that has not ended. */
const UnendedStatuses = ["awaiting_approval", "queued", "dispatched", "running"];

/** A job as the jobs list gives it, as far as cancelling it goes. */
export interface CancellableJob {
  status: string;
  cancelRequestedAt?: string;
}

/** Whether an admin may still cancel the job: it has not ended, and no one asked already. */
export function canCancel(job: CancellableJob): boolean {
  return UnendedStatuses.includes(job.status) && !job.cancelRequestedAt;
}

/** The job's status as shown: one cancelled while files of it were out says it is cancelling until the agent reports them. */
export function shownStatus(job: CancellableJob): string {
  return job.cancelRequestedAt && UnendedStatuses.includes(job.status) ? `${job.status}, cancelling` : job.status;
}
