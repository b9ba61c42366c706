import { useState } from "react";
import { useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, type Session } from "../lib/api";
import { formatBytes, formatDuration, formatTime } from "../lib/format";
import { changesApprovals } from "../lib/jobs";
import { refreshAfterEvent } from "../lib/refresh";
import { useLiveEvents } from "../lib/live";
import { canManage } from "../lib/roles";
import { HoldFields, type Hold } from "../components/HoldFields";

interface PlanSummary {
  dryRun: boolean;
  filesEvaluated: number;
  filesToTier: number;
  bytesToTier: number;
  estimatedTransferSeconds: number;
  changes?: { jobsCreated: number };
}

interface AwaitingJob {
  id: string;
  hostId: string;
  ruleName?: string;
  fileCount: number;
  totalBytes: number;
  estimatedSeconds: number;
  samplePaths: string[];
}

interface ApprovalQueue {
  jobs: number;
  files: number;
  bytes: number;
  waiting: AwaitingJob[];
}

interface DeclineReceipt {
  declined: string[];
  files: number;
  bytes: number;
  heldUntil?: string | null;
}

/**
 * Planning: anyone who sees the tenant previews a plan; its admins plan for real and approve or
 * decline the jobs that wait for them (a new tenant's plans wait), one by one or all at once. A
 * declined job's files stay out of plans for the days given, so the next plan does not bring them
 * back at once. The queue follows the live plan and approval events.
 */
export function Plans({ session }: { session: Session }) {
  const { tenantId = "" } = useParams();
  const queries = useQueryClient();
  const manage = canManage(session);
  const [summary, setSummary] = useState<PlanSummary | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [hold, setHold] = useState<Hold>({ reason: "", holdDays: 30 });
  const queue = useQuery({ queryKey: ["approvals", tenantId], queryFn: () => api<ApprovalQueue>(`/tenants/${tenantId}/approvals`, {}, session) });
  const refresh = () => queries.invalidateQueries({ queryKey: ["approvals", tenantId] });
  useLiveEvents(tenantId, (event) => {
    if (changesApprovals(event)) {
      refreshAfterEvent(queries, ["approvals", tenantId]);
    }
  });
  const failed = (error: Error) => setMessage(error instanceof ApiError ? error.message : "The gateway could not be reached");
  const plan = useMutation({
    mutationFn: (dryRun: boolean) => api<PlanSummary>(`/tenants/${tenantId}/plan?dryRun=${dryRun}`, { method: "POST" }, session),
    onSuccess: (result) => {
      setSummary(result);
      setMessage(null);
      void refresh();
    },
    onError: failed,
  });
  const approve = useMutation({
    mutationFn: (jobIds: string[] | null) =>
      api<{ approved: string[]; files: number; bytes: number }>(`/tenants/${tenantId}/approvals`, { method: "POST", body: JSON.stringify(jobIds ? { jobIds } : { all: true }) }, session),
    onSuccess: (receipt) => {
      setMessage(`Approved ${receipt.approved.length} job(s): ${receipt.files} files, ${formatBytes(receipt.bytes)}.`);
      void refresh();
    },
    onError: failed,
  });
  const decline = useMutation({
    mutationFn: (jobIds: string[] | null) =>
      api<DeclineReceipt>(
        `/tenants/${tenantId}/approvals/decline`,
        { method: "POST", body: JSON.stringify({ ...(jobIds ? { jobIds } : { all: true }), holdDays: hold.holdDays, reason: hold.reason.trim() || undefined }) },
        session,
      ),
    onSuccess: (receipt) => {
      setMessage(
        `Declined ${receipt.declined.length} job(s): ${receipt.files} files, ${formatBytes(receipt.bytes)}` +
          (receipt.heldUntil ? `, kept out of plans until ${formatTime(receipt.heldUntil)}.` : "."),
      );
      void refresh();
    },
    onError: failed,
  });
  const deciding = approve.isPending || decline.isPending;

  return (
    <section aria-labelledby="plans-title">
      <h1 id="plans-title">Plans and approvals</h1>
      <div className="actions">
        <button type="button" onClick={() => plan.mutate(true)} disabled={plan.isPending}>
          Preview a plan
        </button>
        {manage && (
          <button type="button" onClick={() => plan.mutate(false)} disabled={plan.isPending}>
            Plan now
          </button>
        )}
      </div>
      {summary && (
        <p role="status" data-testid="plan-summary">
          {summary.dryRun ? "Preview" : "Planned"}: {summary.filesEvaluated} files evaluated, {summary.filesToTier} files ({formatBytes(summary.bytesToTier)}) to
          tier, {formatDuration(summary.estimatedTransferSeconds)} of transfer
          {summary.changes ? `; ${summary.changes.jobsCreated} new job(s)` : ""}.
        </p>
      )}
      {message && <p role="status">{message}</p>}
      <h2>Waiting for approval</h2>
      {queue.isPending && <p role="status">Loading…</p>}
      {queue.isError && <p role="alert">{queue.error.message}</p>}
      {queue.data && queue.data.waiting.length === 0 && <p data-testid="queue-empty">No job waits for approval.</p>}
      {queue.data && queue.data.waiting.length > 0 && (
        <>
          <p>
            {queue.data.jobs} job(s): {queue.data.files} files, {formatBytes(queue.data.bytes)}.{" "}
            {manage && (
              <>
                <button type="button" onClick={() => approve.mutate(null)} disabled={deciding}>
                  Approve all
                </button>{" "}
                <button type="button" onClick={() => decline.mutate(null)} disabled={deciding}>
                  Decline all
                </button>
              </>
            )}
          </p>
          {manage && (
            <HoldFields verb="decline" done="declined" hold={hold} onChange={setHold} />
          )}
          <table aria-label="Jobs waiting for approval">
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Files</th>
                <th scope="col">Bytes</th>
                <th scope="col">For example</th>
                {manage && <th scope="col">Decide</th>}
              </tr>
            </thead>
            <tbody>
              {queue.data.waiting.map((job) => (
                <tr key={job.id} data-testid="waiting-job">
                  <td>{job.ruleName ?? "—"}</td>
                  <td>{job.fileCount}</td>
                  <td>{formatBytes(job.totalBytes)}</td>
                  <td>{job.samplePaths.slice(0, 3).join(", ")}</td>
                  {manage && (
                    <td>
                      <button type="button" aria-label={`Approve the job of ${job.ruleName ?? "no rule"}`} onClick={() => approve.mutate([job.id])} disabled={deciding}>
                        Approve
                      </button>{" "}
                      <button type="button" aria-label={`Decline the job of ${job.ruleName ?? "no rule"}`} onClick={() => decline.mutate([job.id])} disabled={deciding}>
                        Decline
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
