import { useCallback, useState, type FormEvent } from "react";
import { useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, type CommandReceipt, type Host, type Page, type Session } from "../lib/api";
import { formatBytes } from "../lib/format";
import { useLiveEvents, type LiveEvent } from "../lib/live";
import { canManage, canSupport } from "../lib/roles";

/**
 * The tenant's file servers: status, agent, last scan, and each volume with whether recall on
 * open is armed there (only then are its files tiered). Admins ask for a scan or a new enrollment
 * token; support and admins recall files by path. The list follows the hosts' live events.
 */
export function Hosts({ session }: { session: Session }) {
  const { tenantId = "" } = useParams();
  const queries = useQueryClient();
  const hosts = useQuery({ queryKey: ["hosts", tenantId], queryFn: () => api<Page<Host>>(`/tenants/${tenantId}/hosts?pageSize=200`, {}, session) });
  const onEvent = useCallback(
    (event: LiveEvent) => {
      if (event.tenantId === tenantId && ["host.status", "host.metrics", "scan.completed", "recalls"].includes(event.kind)) {
        void queries.invalidateQueries({ queryKey: ["hosts", tenantId] });
        void queries.invalidateQueries({ queryKey: ["host", tenantId, event.hostId] });
      }
    },
    [tenantId, queries],
  );
  useLiveEvents(session, onEvent);

  return (
    <section aria-labelledby="hosts-title">
      <h1 id="hosts-title">Hosts</h1>
      {hosts.isPending && <p role="status">Loading hosts…</p>}
      {hosts.isError && <p role="alert">{hosts.error.message}</p>}
      {hosts.data && hosts.data.items.length === 0 && <p>No host yet. An admin registers one with the API, then enrolls its agent with the token.</p>}
      {hosts.data?.items.map((host) => <HostCard key={host.id} listed={host} tenantId={tenantId} session={session} />)}
    </section>
  );
}

/** One host, read whole (the list leaves out its agent's last report and its waiting commands). */
function HostCard({ listed, tenantId, session }: { listed: Host; tenantId: string; session: Session }) {
  const queries = useQueryClient();
  const detail = useQuery({
    queryKey: ["host", tenantId, listed.id],
    queryFn: () => api<Host>(`/tenants/${tenantId}/hosts/${listed.id}`, {}, session),
    placeholderData: listed,
  });
  const host = detail.data ?? listed;
  const [message, setMessage] = useState<string | null>(null);
  const [paths, setPaths] = useState("");
  const base = `/tenants/${tenantId}/hosts/${listed.id}`;
  const said = (receipt: CommandReceipt, what: string) => {
    setMessage(receipt.delivered ? `${what}: sent to the agent.` : `${what}: queued until the agent connects (${receipt.pending} waiting).`);
    void queries.invalidateQueries({ queryKey: ["host", tenantId, listed.id] });
  };
  const failed = (error: Error) => setMessage(error instanceof ApiError ? error.message : "The gateway could not be reached");
  const scan = useMutation({
    mutationFn: () => api<CommandReceipt>(`${base}/scan`, { method: "POST", body: JSON.stringify({}) }, session),
    onSuccess: (receipt) => said(receipt, "Scan"),
    onError: failed,
  });
  const token = useMutation({
    mutationFn: () => api<{ enrollmentToken: string }>(`${base}/enrollment-token`, { method: "POST" }, session),
    onSuccess: (answer) => setMessage(`New enrollment token (shown once): ${answer.enrollmentToken}`),
    onError: failed,
  });
  const recall = useMutation({
    mutationFn: (list: string[]) => api<CommandReceipt>(`${base}/recall`, { method: "POST", body: JSON.stringify({ paths: list }) }, session),
    onSuccess: (receipt) => {
      setPaths("");
      said(receipt, "Recall");
    },
    onError: failed,
  });
  const submitRecall = (event: FormEvent) => {
    event.preventDefault();
    const list = paths.split("\n").map((path) => path.trim()).filter((path) => path.length > 0);
    if (list.length > 0) {
      recall.mutate(list);
    }
  };
  const volumes = host.latestMetrics?.volumes ?? [];

  return (
    <article className="card host" aria-label={`Host ${host.name}`}>
      <h2>
        {host.name} <span className={`badge status-${host.status}`}>{host.status}</span>
      </h2>
      <dl>
        <dt>Agent</dt>
        <dd>{host.agentVersion ?? "not enrolled yet"}</dd>
        <dt>Last scan</dt>
        <dd>{host.lastScanAt ? `${new Date(host.lastScanAt).toLocaleString()} — ${host.fileCount} files, ${formatBytes(host.totalBytes)}` : "never"}</dd>
        <dt>Waiting commands</dt>
        <dd>{host.pendingCommands}</dd>
      </dl>
      <table aria-label={`Volumes of ${host.name}`}>
        <thead>
          <tr>
            <th scope="col">Volume</th>
            <th scope="col">Recall on open</th>
            <th scope="col">Free</th>
          </tr>
        </thead>
        <tbody>
          {host.volumes.map((path) => {
            const space = volumes.find((volume) => volume.path === path);
            return (
              <tr key={path}>
                <td>{path}</td>
                <td>{space ? (space.recallArmed ? "armed" : `not armed${space.recallReason ? `: ${space.recallReason}` : ""}`) : "unknown until the agent reports"}</td>
                <td>{space ? `${formatBytes(space.freeBytes)} of ${formatBytes(space.totalBytes)}` : "—"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {canManage(session) && (
        <div className="actions">
          <button type="button" onClick={() => scan.mutate()} disabled={scan.isPending}>
            Scan now
          </button>
          <button type="button" onClick={() => token.mutate()} disabled={token.isPending}>
            New enrollment token
          </button>
        </div>
      )}
      {canSupport(session) && (
        <form onSubmit={submitRecall} aria-label={`Recall on ${host.name}`} className="recall">
          <label>
            Recall files (one path per line)
            <textarea aria-label="Paths to recall" rows={2} value={paths} onChange={(event) => setPaths(event.target.value)} />
          </label>
          <button type="submit" disabled={recall.isPending}>
            Recall
          </button>
        </form>
      )}
      {message && (
        <p role="status" className="message">
          {message}
        </p>
      )}
    </article>
  );
}
