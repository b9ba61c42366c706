import { useRef, useState, type FormEvent } from "react";
import { useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, apiRevised, isStale, type CommandReceipt, type Host, type Page, type Revised, type Session } from "../lib/api";
import { failureMessage, formatBytes, formatTime } from "../lib/format";
import { addRecallEvent, formatWindows, parseWindows, recallFinished, type RecallProgress } from "../lib/hosts";
import { refreshAfterEvent } from "../lib/refresh";
import { useLiveEvents } from "../lib/live";
import { canManage, canSupport } from "../lib/roles";
import type { Rule } from "../lib/rules";
import { QueryState } from "../components/Loading";

/**
 * The tenant's file servers: status, agent, last scan, and each volume with whether recall on
 * open is armed there (only then are its files tiered). Admins ask for a scan, change a host's
 * bandwidth, transfer windows and LucidLink settings, issue an enrollment token, revoke a host's
 * credential (cutting its agent off) or delete a host registered by mistake; support and
 * admins recall files by path, folder or rule and watch the recall finish. The list follows the
 * hosts' live events.
 */
export function Hosts({ session }: { session: Session }) {
  const { tenantId = "" } = useParams();
  const queries = useQueryClient();
  const hosts = useQuery({ queryKey: ["hosts", tenantId], queryFn: () => api<Page<Host>>(`/tenants/${tenantId}/hosts?pageSize=200`, {}, session) });
  useLiveEvents(tenantId, (event) => {
    if (["host.status", "host.metrics", "scan.completed"].includes(event.kind)) {
      refreshAfterEvent(queries, ["hosts", tenantId]);
      refreshAfterEvent(queries, ["host", tenantId, event.hostId]);
    }
  });

  return (
    <section aria-labelledby="hosts-title">
      <h1 id="hosts-title">Hosts</h1>
      <QueryState query={hosts} what="hosts" empty={(page) => page.items.length === 0} />
      {hosts.data?.items.length === 0 && <p>An admin registers a host with the API, then enrolls its agent with the token.</p>}
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
  const base = `/tenants/${tenantId}/hosts/${listed.id}`;
  const refresh = () => void queries.invalidateQueries({ queryKey: ["host", tenantId, listed.id] });
  const scan = useMutation({
    mutationFn: () => api<CommandReceipt>(`${base}/scan`, { method: "POST", body: JSON.stringify({}) }, session),
    onSuccess: (receipt) => {
      setMessage(receipt.delivered ? "Scan: sent to the agent." : `Scan: queued until the agent connects (${receipt.pending} waiting).`);
      refresh();
    },
    onError: (error) => setMessage(failureMessage(error)),
  });
  const token = useMutation({
    mutationFn: () => api<{ enrollmentToken: string }>(`${base}/enrollment-token`, { method: "POST" }, session),
    onSuccess: (answer) => setMessage(`New enrollment token (shown once): ${answer.enrollmentToken}`),
    onError: (error) => setMessage(failureMessage(error)),
  });
  const revoke = useMutation({
    mutationFn: () => api<Host>(`${base}/credential/revoke`, { method: "POST" }, session),
    onSuccess: () => {
      setMessage("Credential revoked: the agent is cut off and enrolls again only with a new token.");
      refresh();
    },
    onError: (error) => setMessage(failureMessage(error)),
  });
  // Files given up after their last attempt, once their cause (a full or unreachable tier 2) is fixed.
  const retry = useMutation({
    mutationFn: () => api<{ files: number }>(`${base}/retry-abandoned`, { method: "POST", body: JSON.stringify({}) }, session),
    onSuccess: (answer) =>
      setMessage(answer.files === 0 ? "No abandoned files to try again." : `${answer.files} abandoned file(s) are planned again, from a fresh count of attempts.`),
    onError: (error) => setMessage(failureMessage(error)),
  });
  // Files held back from planning (a declined job's, or refused by the agent) before their pause is over.
  const release = useMutation({
    mutationFn: () => api<{ files: number }>(`${base}/release-held`, { method: "POST", body: JSON.stringify({}) }, session),
    onSuccess: (answer) => setMessage(answer.files === 0 ? "No held files to release." : `${answer.files} held file(s) are released and planned again.`),
    onError: (error) => setMessage(failureMessage(error)),
  });
  const remove = useMutation({
    mutationFn: () => api<void>(base, { method: "DELETE" }, session),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ["hosts", tenantId] }),
    // An enrolled or scanned host stays; the answer says why.
    onError: (error) => setMessage(failureMessage(error)),
  });
  const volumes = host.latestMetrics?.volumes ?? [];

  return (
    <article className="card host" aria-label={`Host ${host.name}`}>
      <h2>
        {host.name} <span className={`badge status-${host.status}`}>{host.status}</span>
      </h2>
      <dl>
        <dt>Agent</dt>
        <dd>{host.agentVersion ?? "not enrolled yet"}</dd>
        <dt>Last heartbeat</dt>
        <dd>{formatTime(host.lastHeartbeatAt)}</dd>
        <dt>Last scan</dt>
        <dd>{host.lastScanAt ? `${formatTime(host.lastScanAt)} — ${host.fileCount} files, ${formatBytes(host.totalBytes)}` : "never"}</dd>
        <dt>Waiting commands</dt>
        <dd>{host.pendingCommands}</dd>
        {host.latestMetrics?.recallProblem && (
          <>
            <dt>Recall</dt>
            <dd role="alert">{host.latestMetrics.recallProblem}</dd>
          </>
        )}
        {host.latestMetrics?.unsettledProblem && (
          <>
            <dt>Unsettled files</dt>
            <dd role="alert">{host.latestMetrics.unsettledProblem}</dd>
          </>
        )}
        {(host.latestMetrics?.recallsWaiting ?? 0) > 0 && (
          <>
            <dt>Recalls waiting</dt>
            <dd>{host.latestMetrics?.recallsWaiting} open(s) of stubs waiting their turn (the agent recalls a few at once)</dd>
          </>
        )}
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
          {host.status !== "registered" && (
            <button type="button" onClick={() => revoke.mutate()} disabled={revoke.isPending}>
              Revoke credential
            </button>
          )}
          <button type="button" onClick={() => retry.mutate()} disabled={retry.isPending}>
            Retry abandoned files
          </button>
          <button type="button" onClick={() => release.mutate()} disabled={release.isPending}>
            Release held files
          </button>
          <button type="button" onClick={() => remove.mutate()} disabled={remove.isPending}>
            {`Delete ${host.name}`}
          </button>
        </div>
      )}
      {message && (
        <p role="status" className="message">
          {message}
        </p>
      )}
      {canManage(session) ? <HostSettings host={host} base={base} session={session} onSaved={refresh} /> : <HostSettingsSummary host={host} />}
      {canSupport(session) && <RecallForm host={host} tenantId={tenantId} base={base} session={session} />}
    </article>
  );
}

function HostSettingsSummary({ host }: { host: Host }) {
  return (
    <dl aria-label={`Settings of ${host.name}`}>
      <dt>Bandwidth</dt>
      <dd>{host.bandwidthLimitBytesPerSecond ? `${formatBytes(host.bandwidthLimitBytesPerSecond)}/s` : "no limit"}</dd>
      <dt>Transfer windows</dt>
      <dd>{host.transferWindows.length === 0 ? "always" : `${formatWindows(host.transferWindows).replaceAll("\n", "; ")} (${host.timeZone})`}</dd>
      <dt>LucidLink</dt>
      <dd>{host.lucidLink ? `${host.lucidLink.filespaceRoot}, read every ${host.lucidLink.pollSeconds} s` : "off"}</dd>
    </dl>
  );
}

/**
 * Bandwidth, transfer windows and LucidLink tailing of a host, read when the panel opens and saved
 * in one change at the revision read: if another admin changed them meanwhile, the save is refused
 * and says so rather than overwriting theirs. The API's messages show in place.
 */
function HostSettings({ host, base, session, onSaved }: { host: Host; base: string; session: Session; onSaved: () => void }) {
  const [opened, setOpened] = useState(false);
  // Read again each time the panel opens (not when the window regains focus: that would reset what is being typed).
  const read = useQuery({ queryKey: ["host-settings", host.id], queryFn: () => apiRevised<Host>(base, {}, session), enabled: opened, refetchOnWindowFocus: false });
  return (
    <details className="settings" onToggle={(event) => setOpened(event.currentTarget.open)}>
      <summary>Settings</summary>
      {opened &&
        (read.data ? (
          <HostSettingsForm key={read.data.revision ?? "unrevised"} read={read.data} base={base} session={session} onSaved={onSaved} />
        ) : (
          <QueryState query={read} what="settings" />
        ))}
    </details>
  );
}

function HostSettingsForm({ read, base, session, onSaved }: { read: Revised<Host>; base: string; session: Session; onSaved: () => void }) {
  const host = read.value;
  const [revision, setRevision] = useState(read.revision);
  const [name, setName] = useState(host.name);
  const [bandwidth, setBandwidth] = useState(host.bandwidthLimitBytesPerSecond ? String(host.bandwidthLimitBytesPerSecond / 1_000_000) : "");
  const [windows, setWindows] = useState(formatWindows(host.transferWindows));
  const [timeZone, setTimeZone] = useState(host.timeZone);
  const [lucidRoot, setLucidRoot] = useState(host.lucidLink?.filespaceRoot ?? "");
  const [pollSeconds, setPollSeconds] = useState(String(host.lucidLink?.pollSeconds ?? 300));
  const [message, setMessage] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (body: object) => apiRevised<Host>(base, { method: "PATCH", body: JSON.stringify(body) }, session, revision),
    onSuccess: (saved) => {
      setRevision(saved.revision);
      setMessage("Settings saved.");
      onSaved();
    },
    onError: (error) =>
      setMessage(
        isStale(error)
          ? "Another admin changed this host's settings since you opened them; nothing was saved. Close and reopen Settings to see theirs, then make your change again."
          : failureMessage(error),
      ),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseWindows(windows);
    if ("error" in parsed) {
      setMessage(`Transfer windows: ${parsed.error}`);
      return;
    }
    const limit = bandwidth.trim() === "" ? 0 : Math.round(Number(bandwidth) * 1_000_000);
    if (!Number.isFinite(limit) || limit < 0) {
      setMessage("Bandwidth is a number of MB/s, or empty for no limit.");
      return;
    }
    save.mutate({
      // Sent only when changed: a rename is audited as one.
      ...(name.trim() !== host.name && { name: name.trim() }),
      bandwidthLimitBytesPerSecond: limit,
      transferWindows: parsed.windows,
      timeZone,
      lucidLink: { filespaceRoot: lucidRoot.trim(), pollSeconds: Number(pollSeconds) },
    });
  };
  return (
    <form onSubmit={submit} aria-label={`Settings of ${host.name}`} className="editor">
      <label>
        Name <input aria-label="Host name" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Bandwidth limit (MB/s, empty for none) <input aria-label="Bandwidth limit (MB/s)" inputMode="decimal" value={bandwidth} onChange={(e) => setBandwidth(e.target.value)} />
      </label>
      <label>
        Transfer windows (one a line, e.g. mon-fri 22:00-06:00; none: always)
        <textarea aria-label="Transfer windows" rows={2} value={windows} onChange={(e) => setWindows(e.target.value)} />
      </label>
      <label>
        Time zone <input aria-label="Time zone" value={timeZone} onChange={(e) => setTimeZone(e.target.value)} />
      </label>
      <label>
        LucidLink filespace root (empty: off) <input aria-label="LucidLink filespace root" value={lucidRoot} onChange={(e) => setLucidRoot(e.target.value)} />
      </label>
      <label>
        Read the LucidLink trail every (seconds) <input aria-label="LucidLink poll seconds" inputMode="numeric" value={pollSeconds} onChange={(e) => setPollSeconds(e.target.value)} />
      </label>
      <button type="submit" disabled={save.isPending}>
        Save settings
      </button>
      {message && <p role="status">{message}</p>}
    </form>
  );
}

type RecallBy = "paths" | "directory" | "rule";

/** Recall by paths, a folder or a rule, then the recall's progress from the host's live recall events. */
function RecallForm({ host, tenantId, base, session }: { host: Host; tenantId: string; base: string; session: Session }) {
  const [by, setBy] = useState<RecallBy>("paths");
  const [paths, setPaths] = useState("");
  const [directory, setDirectory] = useState("");
  const [ruleId, setRuleId] = useState("");
  const [progress, setProgress] = useState<RecallProgress | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const rules = useQuery({ queryKey: ["rules", tenantId], queryFn: () => api<Rule[]>(`/tenants/${tenantId}/rules`, {}, session), enabled: by === "rule" });
  // Recall events that arrive before the gateway's answer (a quick agent) are kept for the progress.
  const early = useRef<RecallProgress | null>(null);
  useLiveEvents(tenantId, (event) => {
    if (event.kind !== "recalls" || event.hostId !== host.id) {
      return;
    }
    if (early.current) {
      early.current = addRecallEvent(early.current, event.data);
    } else {
      setProgress((current) => (current && !recallFinished(current) ? addRecallEvent(current, event.data) : current));
    }
  });
  const recall = useMutation({
    mutationFn: (body: object) =>
      api<{ files: number; commands: number; delivered: boolean }>(`${base}/recall`, { method: "POST", body: JSON.stringify(body) }, session),
    onMutate: () => {
      early.current = { files: 0, recalled: 0, failed: 0 };
    },
    onSettled: () => {
      early.current = null;
    },
    onSuccess: (receipt) => {
      setProgress({ ...(early.current ?? { recalled: 0, failed: 0 }), files: receipt.files });
      setMessage(receipt.files === 0 ? "Nothing to recall: no stub matches." : receipt.delivered ? null : "Queued until the agent connects.");
      setPaths("");
    },
    onError: (error) => setMessage(failureMessage(error)),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (by === "paths") {
      const list = paths.split("\n").map((path) => path.trim()).filter((path) => path.length > 0);
      recall.mutate({ paths: list });
    } else if (by === "directory") {
      recall.mutate({ directory: directory.trim() });
    } else {
      recall.mutate({ ruleId });
    }
  };
  return (
    <form onSubmit={submit} aria-label={`Recall on ${host.name}`} className="recall">
      <fieldset>
        <legend>Recall</legend>
        {(["paths", "directory", "rule"] as RecallBy[]).map((choice) => (
          <label key={choice} className="inline">
            <input type="radio" name={`recall-by-${host.id}`} value={choice} checked={by === choice} onChange={() => setBy(choice)} /> by {choice}
          </label>
        ))}
      </fieldset>
      {by === "paths" && (
        <label>
          Files (one path per line)
          <textarea aria-label="Paths to recall" rows={2} value={paths} onChange={(e) => setPaths(e.target.value)} />
        </label>
      )}
      {by === "directory" && (
        <label>
          Everything below <input aria-label="Folder to recall" value={directory} onChange={(e) => setDirectory(e.target.value)} />
        </label>
      )}
      {by === "rule" && (
        <label>
          Everything the rule tiered{" "}
          <select aria-label="Rule to recall" value={ruleId} onChange={(e) => setRuleId(e.target.value)}>
            <option value="">Choose a rule</option>
            {(rules.data ?? []).map((rule) => (
              <option key={rule.id} value={rule.id}>
                {rule.name}
              </option>
            ))}
          </select>
        </label>
      )}
      <button type="submit" disabled={recall.isPending}>
        Recall
      </button>
      {message && <p role="status">{message}</p>}
      {progress && progress.files > 0 && (
        <div>
          <progress aria-label="Recall progress" max={progress.files} value={progress.recalled + progress.failed} />
          <p role="status" data-testid="recall-progress">
            {recallFinished(progress) ? "Recall finished" : "Recalling"}: {progress.recalled} of {progress.files} file(s) back
            {progress.failed > 0 ? `, ${progress.failed} failed` : ""}.
          </p>
        </div>
      )}
    </form>
  );
}
