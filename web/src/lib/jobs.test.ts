import { describe, expect, it } from "vitest";
import { addJobProgress, canCancel, changesApprovals, shownStatus, statesRate } from "./jobs";

describe("job progress", () => {
  it("adds each batch's outcomes to its job", () => {
    let tally = addJobProgress({}, { jobId: "j1", reported: { stubbed: 3, failed: 1 }, finished: false });
    tally = addJobProgress(tally, { jobId: "j1", reported: { stubbed: 2 } });
    tally = addJobProgress(tally, { jobId: "j2", reported: { skipped: 1 } });
    expect(tally).toEqual({ j1: { reported: 6, failed: 1 }, j2: { reported: 1, failed: 0 } });
  });

  it("ignores an event without a job", () => {
    expect(addJobProgress({}, { reported: { stubbed: 1 } })).toEqual({});
  });
});

describe("tier-state rates", () => {
  it("are files a second per state", () => {
    expect(statesRate({ seconds: 2, states: { STUBBED: { files: 10, bytes: 1 }, UPLOADING: { files: 4, bytes: 1 } } })).toEqual([
      { state: "STUBBED", filesPerSecond: 5 },
      { state: "UPLOADING", filesPerSecond: 2 },
    ]);
  });
});

describe("changesApprovals", () => {
  it("takes an approval or decline made elsewhere, as the audit trail tells it, and plans", () => {
    expect(changesApprovals({ kind: "audit", data: { action: "tier.jobs_declined" } })).toBe(true);
    expect(changesApprovals({ kind: "audit", data: { action: "tier.jobs_approved" } })).toBe(true);
    expect(changesApprovals({ kind: "approval.needed", data: {} })).toBe(true);
    expect(changesApprovals({ kind: "audit", data: { action: "rule.created" } })).toBe(false);
    expect(changesApprovals({ kind: "tier.states", data: {} })).toBe(false);
  });
});

describe("cancelling a job", () => {
  it("is offered for a job that has not ended and that no one cancelled yet", () => {
    expect(["awaiting_approval", "queued", "dispatched", "running"].map((status) => canCancel({ status }))).toEqual([true, true, true, true]);
    expect(["completed", "failed", "cancelled", "declined"].map((status) => canCancel({ status }))).toEqual([false, false, false, false]);
    expect(canCancel({ status: "dispatched", cancelRequestedAt: "2026-12-08T04:00:00Z" })).toBe(false);
  });

  it("shows a job whose files are still out as cancelling, and an ended one as it ended", () => {
    expect(shownStatus({ status: "dispatched", cancelRequestedAt: "2026-12-08T04:00:00Z" })).toBe("dispatched, cancelling");
    expect(shownStatus({ status: "cancelled", cancelRequestedAt: "2026-12-08T04:00:00Z" })).toBe("cancelled");
    expect(shownStatus({ status: "queued" })).toBe("queued");
  });
});
