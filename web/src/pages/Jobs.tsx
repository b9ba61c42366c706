import { useState } from "react";
import { useParams } from "react-router";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, type Host, type Page, type Session } from "../lib/api";
import { formatBytes, formatTime } from "../lib/format";
import { addJobProgress, canCancel, InFlightStates, shownStatus, statesRate, type JobTally } from "../lib/jobs";
import { canManage } from "../lib/roles";
import { refreshAfterEvent } from "../lib/refresh";
import { useLiveEvents } from "../lib/live";
import { HoldFields, type Hold } from "../components/HoldFields";
import { QueryState } from "../components/Loading";
import { Pager } from "../components/Pager";

interface Job {
  id: string;
  hostId: string;
  status: string;
  fileCount: number;
  totalBytes: number;
  attempts: number;
  lastError?: string;
  createdAt: string;
  completedAt?: string;
  cancelRequestedAt?: string;
}

interface CancelledJob {
  status: string;
  filesHeld: number;
  heldUntil: string;
}

interface TierObject {
  id: number;
  hostId: string;
  path: string;
  state: string;
  sizeBytes: number;
  attempts: number;
  lastError?: string;
  actedAt?: string;
  accessCount: number;
}

interface StateCount {
  state: string;
  files: number;
  bytes: number;
}

const JobStatuses = ["awaiting_approval", "queued", "dispatched", "running", "completed", "failed", "cancelled", "declined"];
const TierStates = ["PLANNED", "DISPATCHED", "UPLOADING", "UPLOADED", "STUBBED", "RECALLING", "RECALLED", "FAILED", "ABANDONED", "SKIPPED", "LOST"];
const PageSize = 25;

/**
 * What tiering is doing: files per tiering state (read again as the live tier.states events come,
 * with the rate of moves), the jobs with each running job's progress from its live events, and the
 * tier objects by state, job and path. An admin may cancel a job that has not ended.
 */
export function Jobs({ session }: { session: Session }) {
  const { tenantId = "" } = useParams();
  const queries = useQueryClient();
  const base = `/tenants/${tenantId}`;
  const [status, setStatus] = useState("");
  const [jobPage, setJobPage] = useState(1);
  const [state, setState] = useState("");
  const [prefix, setPrefix] = useState("");
  const [ofJob, setOfJob] = useState<Job | null>(null);
  const [objectPage, setObjectPage] = useState(1);
  const [tally, setTally] = useState<JobTally>({});
  const [rates, setRates] = useState<{ state: string; filesPerSecond: number }[]>([]);
  const manage = canManage(session);
  const [hold, setHold] = useState<Hold>({ reason: "", holdDays: 30 });
  const [message, setMessage] = useState<string | null>(null);
  const hosts = useQuery({ queryKey: ["hosts", tenantId], queryFn: () => api<Page<Host>>(`${base}/hosts?pageSize=200`, {}, session) });
  const summary = useQuery({ queryKey: ["tier-states", tenantId], queryFn: () => api<StateCount[]>(`${base}/tier-objects/summary`, {}, session) });
  const jobs = useQuery({
    queryKey: ["jobs", tenantId, status, jobPage],
    queryFn: () => api<Page<Job>>(`${base}/jobs?pageSize=${PageSize}&page=${jobPage}${status ? `&status=${status}` : ""}`, {}, session),
    placeholderData: keepPreviousData,
  });
  const objects = useQuery({
    queryKey: ["tier-objects", tenantId, state, prefix, ofJob?.id, objectPage],
    queryFn: () =>
      api<Page<TierObject>>(
        `${base}/tier-objects?pageSize=${PageSize}&page=${objectPage}${state ? `&state=${state}` : ""}${ofJob ? `&jobId=${ofJob.id}` : ""}${prefix.startsWith("/") || /^[A-Za-z]:\\/.test(prefix) ? `&pathPrefix=${encodeURIComponent(prefix)}` : ""}`,
        {},
        session,
      ),
    placeholderData: keepPreviousData,
  });
  useLiveEvents(tenantId, (event) => {
    if (event.kind === "tier.states") {
      setRates(statesRate(event.data));
      refreshAfterEvent(queries, ["tier-states", tenantId]);
      refreshAfterEvent(queries, ["tier-objects", tenantId]);
    } else if (event.kind === "job.progress") {
      setTally((current) => addJobProgress(current, event.data));
      // A job that ended, or one cancelled (in this console or another), shows its new status.
      if (event.data.finished || event.data.status) {
        refreshAfterEvent(queries, ["jobs", tenantId]);
      }
    } else if (event.kind === "plan.completed" || event.kind === "recalls") {
      refreshAfterEvent(queries, ["jobs", tenantId]);
      refreshAfterEvent(queries, ["tier-states", tenantId]);
    }
  });
  const cancel = useMutation({
    mutationFn: (job: Job) =>
      api<CancelledJob>(`${base}/jobs/${job.id}/cancel`, { method: "POST", body: JSON.stringify({ holdDays: hold.holdDays, reason: hold.reason.trim() || undefined }) }, session),
    onSuccess: (receipt) => {
      setMessage(
        receipt.status === "cancelled"
          ? `Cancelled: ${receipt.filesHeld} file(s) kept out of plans until ${formatTime(receipt.heldUntil)}.`
          : "Cancelling: the agent finishes the files on their way and starts no other; the rest are kept out of plans.",
      );
      void queries.invalidateQueries({ queryKey: ["jobs", tenantId] });
      void queries.invalidateQueries({ queryKey: ["tier-states", tenantId] });
    },
    onError: (error: Error) => setMessage(error instanceof ApiError ? error.message : "The gateway could not be reached"),
  });
  const hostName = (id: string) => hosts.data?.items.find((host) => host.id === id)?.name ?? id.slice(0, 8);
  const counts = summary.data ?? [];
  const inFlight = counts.filter((count) => InFlightStates.includes(count.state)).reduce((sum, count) => sum + count.files, 0);

  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">Jobs and tier objects</h1>
      <h2>Files by tiering state</h2>
      <QueryState query={summary} what="tiering states" empty={(data) => data.length === 0} />
      {counts.length > 0 && (
        <>
          <p data-testid="in-flight">
            {inFlight} file(s) on their way to tier 2
            {rates.length > 0 && ` — now ${rates.map((rate) => `${rate.filesPerSecond.toFixed(0)}/s ${rate.state.toLowerCase()}`).join(", ")}`}.
          </p>
          <table aria-label="Files by tiering state">
            <thead>
              <tr>
                <th scope="col">State</th>
                <th scope="col">Files</th>
                <th scope="col">Bytes</th>
              </tr>
            </thead>
            <tbody>
              {counts.map((count) => (
                <tr key={count.state} data-testid={`state-${count.state}`}>
                  <td>{count.state}</td>
                  <td>{count.files}</td>
                  <td>{formatBytes(count.bytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}

      <h2>Jobs</h2>
      <label>
        Status{" "}
        <select aria-label="Job status" value={status} onChange={(e) => (setStatus(e.target.value), setJobPage(1))}>
          <option value="">any</option>
          {JobStatuses.map((choice) => (
            <option key={choice}>{choice}</option>
          ))}
        </select>
      </label>
      {manage && (
        <HoldFields verb="cancel" done="cancelled" hold={hold} onChange={setHold} />
      )}
      {message && <p role="status">{message}</p>}
      <QueryState query={jobs} what="jobs" empty={(data) => data.items.length === 0} />
      {jobs.data && jobs.data.items.length > 0 && (
        <>
          <table aria-label="Jobs">
            <thead>
              <tr>
                <th scope="col">Host</th>
                <th scope="col">Status</th>
                <th scope="col">Files</th>
                <th scope="col">Bytes</th>
                <th scope="col">Progress</th>
                <th scope="col">Created</th>
                <th scope="col">Problem</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.items.map((job) => {
                const seen = tally[job.id];
                return (
                  <tr key={job.id} data-testid="job">
                    <td>{hostName(job.hostId)}</td>
                    <td>{shownStatus(job)}</td>
                    <td>{job.fileCount}</td>
                    <td>{formatBytes(job.totalBytes)}</td>
                    <td>
                      {job.status === "completed" ? (
                        "done"
                      ) : seen ? (
                        <>
                          <progress aria-label={`Progress of job ${job.id}`} max={job.fileCount} value={seen.reported} /> {seen.reported} of {job.fileCount}
                          {seen.failed > 0 && `, ${seen.failed} failed`}
                        </>
                      ) : (
                        "—"
                      )}
                    </td>
                    <td>{formatTime(job.createdAt)}</td>
                    <td>{job.lastError ?? ""}</td>
                    <td>
                      <button type="button" aria-label={`Files of the job of ${formatTime(job.createdAt)} on ${hostName(job.hostId)}`} onClick={() => (setOfJob(job), setObjectPage(1))}>
                        Files
                      </button>
                      {manage && canCancel(job) && (
                        <>
                          {" "}
                          <button
                            type="button"
                            aria-label={`Cancel the job of ${formatTime(job.createdAt)} on ${hostName(job.hostId)}`}
                            onClick={() => cancel.mutate(job)}
                            disabled={cancel.isPending}
                          >
                            Cancel
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <Pager page={jobPage} pageSize={PageSize} total={jobs.data.total} onPage={setJobPage} label="jobs" />
        </>
      )}

      <h2>Tier objects</h2>
      <div className="filters">
        <label>
          State{" "}
          <select aria-label="Tier state" value={state} onChange={(e) => (setState(e.target.value), setObjectPage(1))}>
            <option value="">any</option>
            {TierStates.map((choice) => (
              <option key={choice}>{choice}</option>
            ))}
          </select>
        </label>
        {ofJob && (
          <span className="inline" data-testid="of-job">
            Of the {ofJob.status} job of {formatTime(ofJob.createdAt)} on {hostName(ofJob.hostId)}{" "}
            <button type="button" onClick={() => (setOfJob(null), setObjectPage(1))}>
              Every job
            </button>
          </span>
        )}
        <label>
          Path starts with <input aria-label="Path starts with" value={prefix} placeholder="/srv/projects" onChange={(e) => (setPrefix(e.target.value), setObjectPage(1))} />
        </label>
      </div>
      <QueryState query={objects} what="tier objects" empty={(data) => data.items.length === 0} />
      {objects.data && objects.data.items.length > 0 && (
        <>
          <table aria-label="Tier objects">
            <thead>
              <tr>
                <th scope="col">Path</th>
                <th scope="col">Host</th>
                <th scope="col">State</th>
                <th scope="col">Size</th>
                <th scope="col">Last change</th>
                <th scope="col">Opened</th>
                <th scope="col">Problem</th>
              </tr>
            </thead>
            <tbody>
              {objects.data.items.map((item) => (
                <tr key={item.id} data-testid="tier-object">
                  <td>{item.path}</td>
                  <td>{hostName(item.hostId)}</td>
                  <td>{item.state}</td>
                  <td>{formatBytes(item.sizeBytes)}</td>
                  <td>{formatTime(item.actedAt)}</td>
                  <td>{item.accessCount}</td>
                  <td>{item.lastError ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={objectPage} pageSize={PageSize} total={objects.data.total} onPage={setObjectPage} label="tier objects" />
        </>
      )}
    </section>
  );
}
