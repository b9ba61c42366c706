import { useState } from "react";
import { useParams } from "react-router";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Page, type Session } from "../lib/api";
import { failureMessage, formatTime } from "../lib/format";
import { refreshAfterEvent } from "../lib/refresh";
import { useLiveEvents } from "../lib/live";
import { canManage } from "../lib/roles";
import type { Target } from "../lib/targets";
import { QueryState } from "../components/Loading";
import { Pager } from "../components/Pager";

interface Run {
  id: string;
  targetId: string;
  depth: string;
  samplePercent: number;
  status: string;
  requestedBy: string;
  objectsListed: number;
  objectsChecked: number;
  counts: Record<string, number>;
  error?: string;
  startedAt: string;
  finishedAt?: string;
}

interface Finding {
  id: number;
  class: string;
  kind: string;
  objectKey?: string;
  path?: string;
  detail: string;
  repair: string;
  foundAt: string;
  reclaim?: string;
}

const Classes = ["missing", "orphan", "drift", "found"];
const PageSize = 25;

/**
 * The sanitizer: reconciliation runs of the tenant's targets (tier-2 objects against the records),
 * their progress and what each found and did; admins start a run, and cancel one still going.
 * Runs and findings follow the live sanitizer events.
 */
export function Sanitizer({ session }: { session: Session }) {
  const { tenantId = "" } = useParams();
  const queries = useQueryClient();
  const base = `/tenants/${tenantId}`;
  const [runPage, setRunPage] = useState(1);
  const [chosen, setChosen] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const targets = useQuery({ queryKey: ["targets", tenantId], queryFn: () => api<Page<Target>>(`${base}/targets?pageSize=200`, {}, session) });
  const runs = useQuery({
    queryKey: ["reconcile-runs", tenantId, runPage],
    queryFn: () => api<Page<Run>>(`${base}/reconcile-runs?page=${runPage}&pageSize=${PageSize}`, {}, session),
    placeholderData: keepPreviousData,
    // A run's progress moves while it lists; the page reads it again every few seconds while one is open.
    refetchInterval: (query) => (query.state.data?.items.some((run) => run.finishedAt === undefined) ? 3_000 : false),
  });
  useLiveEvents(tenantId, (event) => {
    if (event.kind === "sanitizer.findings") {
      refreshAfterEvent(queries, ["reconcile-runs", tenantId]);
      refreshAfterEvent(queries, ["findings", tenantId]);
    }
  });
  const start = useMutation({
    mutationFn: ({ targetId, depth }: { targetId: string; depth: string }) =>
      api<{ runId: string; depth: string }>(`${base}/targets/${targetId}/reconcile`, { method: "POST", body: JSON.stringify({ depth }) }, session),
    onSuccess: (run) => {
      setMessage(`Run started (${run.depth}).`);
      setChosen(run.runId);
      void queries.invalidateQueries({ queryKey: ["reconcile-runs", tenantId] });
    },
    onError: (error) => setMessage(failureMessage(error)),
  });
  const cancel = useMutation({
    mutationFn: (runId: string) => api<Run>(`${base}/reconcile-runs/${runId}/cancel`, { method: "POST" }, session),
    onSuccess: (run) => {
      setMessage(`Run ${run.status}.`);
      void queries.invalidateQueries({ queryKey: ["reconcile-runs", tenantId] });
    },
    onError: (error) => setMessage(failureMessage(error)),
  });
  const targetName = (id: string) => targets.data?.items.find((target) => target.id === id)?.name ?? id.slice(0, 8);
  const run = runs.data?.items.find((item) => item.id === chosen);

  return (
    <section aria-labelledby="sanitizer-title">
      <h1 id="sanitizer-title">Sanitizer</h1>
      {canManage(session) && targets.data && targets.data.items.length > 0 && <StartRun targets={targets.data.items} busy={start.isPending} onStart={(targetId, depth) => start.mutate({ targetId, depth })} />}
      {message && <p role="status">{message}</p>}
      <QueryState query={runs} what="reconciliation runs" empty={(page) => page.items.length === 0} />
      {runs.data && runs.data.items.length > 0 && (
        <>
          <table aria-label="Reconciliation runs">
            <thead>
              <tr>
                <th scope="col">Target</th>
                <th scope="col">Depth</th>
                <th scope="col">Status</th>
                <th scope="col">Listed / checked</th>
                <th scope="col">Found</th>
                <th scope="col">Started</th>
                <th scope="col">Findings</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.items.map((item) => (
                <tr key={item.id} data-testid="run">
                  <td>{targetName(item.targetId)}</td>
                  <td>{item.depth}</td>
                  <td>
                    {item.status}
                    {item.error ? `: ${item.error}` : ""}
                  </td>
                  <td>
                    {item.objectsListed} / {item.objectsChecked}
                  </td>
                  <td>{Object.entries(item.counts).map(([key, count]) => `${count} ${key}`).join(", ") || "nothing"}</td>
                  <td>{formatTime(item.startedAt)}</td>
                  <td>
                    <button type="button" onClick={() => setChosen(item.id)} aria-label={`Findings of the run started ${formatTime(item.startedAt)}`}>
                      Show
                    </button>
                    {canManage(session) && item.finishedAt === undefined && (
                      <button
                        type="button"
                        disabled={cancel.isPending}
                        onClick={() => cancel.mutate(item.id)}
                        aria-label={`Cancel the run started ${formatTime(item.startedAt)}`}
                      >
                        Cancel
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={runPage} pageSize={PageSize} total={runs.data.total} onPage={setRunPage} label="runs" />
        </>
      )}
      {run && <Findings key={run.id} run={run} base={base} tenantId={tenantId} session={session} />}
    </section>
  );
}

function StartRun({ targets, busy, onStart }: { targets: Target[]; busy: boolean; onStart: (targetId: string, depth: string) => void }) {
  const [targetId, setTargetId] = useState(targets[0].id);
  const [depth, setDepth] = useState("head");
  return (
    <form
      className="filters"
      aria-label="Start a reconciliation run"
      onSubmit={(event) => {
        event.preventDefault();
        onStart(targetId, depth);
      }}
    >
      <label>
        Target{" "}
        <select aria-label="Target to reconcile" value={targetId} onChange={(e) => setTargetId(e.target.value)}>
          {targets.map((target) => (
            <option key={target.id} value={target.id}>
              {target.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Depth{" "}
        <select aria-label="Depth" value={depth} onChange={(e) => setDepth(e.target.value)}>
          <option value="list">list (names and sizes)</option>
          <option value="head">head (plus each object's metadata)</option>
          <option value="deep">deep (re-hash a sample)</option>
        </select>
      </label>
      <button type="submit" disabled={busy}>
        Start a run
      </button>
    </form>
  );
}

function Findings({ run, base, tenantId, session }: { run: Run; base: string; tenantId: string; session: Session }) {
  const [kind, setKind] = useState("");
  const [page, setPage] = useState(1);
  const findings = useQuery({
    queryKey: ["findings", tenantId, run.id, kind, page],
    queryFn: () => api<Page<Finding>>(`${base}/reconcile-runs/${run.id}/findings?page=${page}&pageSize=${PageSize}${kind ? `&class=${kind}` : ""}`, {}, session),
    placeholderData: keepPreviousData,
  });
  return (
    <div className="card" aria-label="Findings">
      <h2>Findings of the run started {formatTime(run.startedAt)}</h2>
      <label>
        Class{" "}
        <select aria-label="Finding class" value={kind} onChange={(e) => (setKind(e.target.value), setPage(1))}>
          <option value="">any</option>
          {Classes.map((choice) => (
            <option key={choice}>{choice}</option>
          ))}
        </select>
      </label>
      <QueryState query={findings} what="findings" empty={(data) => data.items.length === 0} />
      {findings.data && findings.data.items.length > 0 && (
        <>
          <table aria-label="Findings of the run">
            <thead>
              <tr>
                <th scope="col">Class</th>
                <th scope="col">What</th>
                <th scope="col">Where</th>
                <th scope="col">Detail</th>
                <th scope="col">Repair</th>
              </tr>
            </thead>
            <tbody>
              {findings.data.items.map((finding) => (
                <tr key={finding.id} data-testid="finding">
                  <td>{finding.class}</td>
                  <td>{finding.kind}</td>
                  <td>{finding.path ?? finding.objectKey ?? ""}</td>
                  <td>{finding.detail}</td>
                  <td>
                    {finding.repair}
                    {finding.reclaim ? ` (${finding.reclaim})` : ""}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} pageSize={PageSize} total={findings.data.total} onPage={setPage} label="findings" />
        </>
      )}
    </div>
  );
}
