import { useState, type FormEvent } from "react";
import { useParams } from "react-router";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, download, type Host, type Page, type Session } from "../lib/api";
import { auditQuery, NoAuditFilters, type AuditFilters } from "../lib/audit";
import { failureMessage, formatTime } from "../lib/format";
import { refreshAfterEvent } from "../lib/refresh";
import { useLiveEvents } from "../lib/live";
import { canManage, isPlatformAdmin } from "../lib/roles";
import { QueryState } from "../components/Loading";
import { Pager } from "../components/Pager";

interface AuditRecord {
  seq: number;
  at: string;
  actor: string;
  action: string;
  objectType: string;
  objectId?: string;
  outcome: string;
  hostId?: string;
  path?: string;
  details: Record<string, unknown>;
}

interface ChainVerdict {
  intact: boolean;
  entries: number;
  brokenAtSeq?: number;
  problem?: string;
}

const PageSize = 50;

/**
 * The audit trail of the tenant (or, for a platform admin, the platform's own): filtered by time,
 * actor, action, host and path; its hash chain verified and exported as JSON Lines by admins.
 * New entries appear as the live audit events say there are some.
 */
export function Audit({ session }: { session: Session }) {
  const { tenantId = "" } = useParams();
  const queries = useQueryClient();
  const [platform, setPlatform] = useState(false);
  const [draft, setDraft] = useState<AuditFilters>(NoAuditFilters);
  const [filters, setFilters] = useState<AuditFilters>(NoAuditFilters);
  const [page, setPage] = useState(1);
  const [message, setMessage] = useState<string | null>(null);
  const base = platform ? "/audit" : `/tenants/${tenantId}/audit`;
  const hosts = useQuery({ queryKey: ["hosts", tenantId], queryFn: () => api<Page<Host>>(`/tenants/${tenantId}/hosts?pageSize=200`, {}, session) });
  const entries = useQuery({
    queryKey: ["audit", tenantId, platform, filters, page],
    queryFn: () => api<Page<AuditRecord>>(`${base}?${auditQuery(filters, page, PageSize)}`, {}, session),
    placeholderData: keepPreviousData,
  });
  useLiveEvents(tenantId, (event) => {
    if (event.kind === "audit" && page === 1) {
      refreshAfterEvent(queries, ["audit", tenantId]);
    }
  });
  const verify = useMutation({
    mutationFn: () => api<ChainVerdict>(`${base}/verify`, {}, session),
    onError: (error) => setMessage(failureMessage(error)),
  });
  const exportAll = useMutation({
    mutationFn: () => download(`${base}/export?after=0&limit=10000`, platform ? "alto-platform-audit.jsonl" : `alto-audit-${tenantId}.jsonl`, session),
    onSuccess: (bytes) => setMessage(`Exported ${bytes} bytes of JSON Lines (the first 10,000 entries; the API pages on from the last seq).`),
    onError: (error) => setMessage(failureMessage(error)),
  });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
    setPage(1);
  };
  const field = (name: keyof AuditFilters) => ({
    value: draft[name],
    onChange: (event: { target: { value: string } }) => setDraft({ ...draft, [name]: event.target.value }),
  });
  const verdict = verify.data;

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      {isPlatformAdmin(session) && (
        <label className="inline">
          <input type="checkbox" checked={platform} onChange={(e) => (setPlatform(e.target.checked), setPage(1), verify.reset())} /> The platform's trail (sign-ins,
          users, tenants) instead of this tenant's
        </label>
      )}
      <form className="filters" onSubmit={apply} aria-label="Audit filters">
        <label>
          From <input type="date" aria-label="From" {...field("from")} />
        </label>
        <label>
          To <input type="date" aria-label="To" {...field("to")} />
        </label>
        <label>
          Actor <input aria-label="Actor" {...field("actor")} />
        </label>
        <label>
          Action <input aria-label="Action" placeholder="recall" {...field("action")} />
        </label>
        {!platform && (
          <label>
            Host{" "}
            <select aria-label="Host" {...field("hostId")}>
              <option value="">any</option>
              {(hosts.data?.items ?? []).map((host) => (
                <option key={host.id} value={host.id}>
                  {host.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {!platform && (
          <label>
            Path starts with <input aria-label="Path starts with" {...field("pathPrefix")} />
          </label>
        )}
        <button type="submit">Filter</button>
        <button type="button" onClick={() => (setDraft(NoAuditFilters), setFilters(NoAuditFilters), setPage(1))}>
          Clear
        </button>
      </form>
      {canManage(session) && (
        <div className="actions">
          <button type="button" onClick={() => verify.mutate()} disabled={verify.isPending}>
            Verify the chain
          </button>
          <button type="button" onClick={() => exportAll.mutate()} disabled={exportAll.isPending}>
            Export (JSON Lines)
          </button>
        </div>
      )}
      {verdict && (
        <p role="status" data-testid="chain-verdict" className={verdict.intact ? "ok" : "error"}>
          {verdict.intact
            ? `The chain is intact: ${verdict.entries} entries verified.`
            : `The chain is broken at entry ${verdict.brokenAtSeq}: ${verdict.problem ?? "a hash does not match"}.`}
        </p>
      )}
      {message && <p role="status">{message}</p>}
      <QueryState query={entries} what="audit entries" empty={(data) => data.items.length === 0} />
      {entries.data && entries.data.items.length > 0 && (
        <>
          <table aria-label="Audit entries">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Outcome</th>
                <th scope="col">What</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {entries.data.items.map((entry) => (
                <tr key={entry.seq} data-testid="audit-entry">
                  <td>{entry.seq}</td>
                  <td>{formatTime(entry.at)}</td>
                  <td>{entry.actor}</td>
                  <td>{entry.action}</td>
                  <td className={entry.outcome === "success" ? "" : "error"}>{entry.outcome}</td>
                  <td>{entry.path ?? `${entry.objectType}${entry.objectId ? ` ${entry.objectId}` : ""}`}</td>
                  <td className="details">{Object.keys(entry.details ?? {}).length > 0 ? JSON.stringify(entry.details) : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} pageSize={PageSize} total={entries.data.total} onPage={setPage} label="audit entries" />
        </>
      )}
    </section>
  );
}
