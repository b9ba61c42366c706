import { useCallback, useState } from "react";
import { useParams } from "react-router";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type CapacityReport, type Host, type Page, type SavingsReport, type Session } from "../lib/api";
import { formatBytes, formatMoney } from "../lib/format";
import { useLiveEvents, type LiveEvent, type LiveState } from "../lib/live";

const LiveLabels: Record<LiveState, string> = {
  connecting: "Connecting to live updates…",
  live: "Live",
  reconnecting: "Connection lost — reconnecting…",
  offline: "Offline",
};

/** A tenant at a glance: capacity local and tiered, savings a month, hosts, and what is happening now. */
export function Overview({ session }: { session: Session }) {
  const { tenantId = "" } = useParams();
  const queries = useQueryClient();
  const capacity = useQuery({ queryKey: ["capacity", tenantId], queryFn: () => api<CapacityReport>(`/tenants/${tenantId}/analytics/capacity?by=access-age`, {}, session) });
  const savings = useQuery({ queryKey: ["savings", tenantId], queryFn: () => api<SavingsReport>(`/tenants/${tenantId}/analytics/savings?days=30`, {}, session) });
  const hosts = useQuery({ queryKey: ["hosts", tenantId], queryFn: () => api<Page<Host>>(`/tenants/${tenantId}/hosts?pageSize=200`, {}, session) });
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const onEvent = useCallback(
    (event: LiveEvent) => {
      if (event.tenantId !== tenantId) {
        return;
      }
      setEvents((earlier) => [event, ...earlier].slice(0, 20));
      // What an event changes is read again, not patched by hand.
      if (event.kind === "host.status") {
        void queries.invalidateQueries({ queryKey: ["hosts", tenantId] });
      } else if (event.kind === "scan.completed" || event.kind === "tier.states") {
        void queries.invalidateQueries({ queryKey: ["capacity", tenantId] });
        void queries.invalidateQueries({ queryKey: ["savings", tenantId] });
      }
    },
    [tenantId, queries],
  );
  const live = useLiveEvents(session, onEvent);
  const online = hosts.data?.items.filter((host) => host.status === "online").length ?? 0;

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <p role="status" className={`live live-${live}`}>
        {LiveLabels[live]}
      </p>
      <div className="cards">
        <Card title="Capacity" loading={capacity.isPending} error={capacity.error?.message}>
          {capacity.data && (
            <dl>
              <dt>Total</dt>
              <dd data-testid="capacity-total">{formatBytes(capacity.data.bytes)}</dd>
              <dt>Tiered</dt>
              <dd data-testid="capacity-tiered">{formatBytes(capacity.data.tieredBytes)}</dd>
              <dt>Local</dt>
              <dd data-testid="capacity-local">{formatBytes(capacity.data.localBytes)}</dd>
            </dl>
          )}
        </Card>
        <Card title="Savings" loading={savings.isPending} error={savings.error?.message}>
          {savings.data && (
            <dl>
              <dt>Per month</dt>
              <dd data-testid="savings-month">{formatMoney(savings.data.netSavingsPerMonth, savings.data.currency)}</dd>
              <dt>Stubbed</dt>
              <dd>{formatBytes(savings.data.stubbedBytes)}</dd>
              {!savings.data.costModelSet && <dd className="hint">No prices set yet: a tenant admin sets the cost model.</dd>}
            </dl>
          )}
        </Card>
        <Card title="Hosts" loading={hosts.isPending} error={hosts.error?.message}>
          {hosts.data && (
            <p data-testid="hosts-online">
              {online} of {hosts.data.total} online
            </p>
          )}
        </Card>
      </div>
      <h2>Hosts</h2>
      {hosts.data && hosts.data.items.length === 0 && <p>No host yet.</p>}
      {hosts.data && hosts.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Agent</th>
              <th scope="col">Volumes</th>
            </tr>
          </thead>
          <tbody>
            {hosts.data.items.map((host) => (
              <tr key={host.id}>
                <td>{host.name}</td>
                <td data-testid={`host-status-${host.name}`}>{host.status}</td>
                <td>{host.agentVersion ?? "—"}</td>
                <td>{host.volumes.join(", ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Now</h2>
      {events.length === 0 ? (
        <p>Nothing has happened since this page opened.</p>
      ) : (
        <ol className="events" aria-label="Live events" data-testid="live-events">
          {events.map((event, index) => (
            <li key={`${event.at}-${index}`}>
              <time dateTime={event.at}>{new Date(event.at).toLocaleTimeString()}</time> {event.kind}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function Card({ title, loading, error, children }: { title: string; loading: boolean; error?: string; children: React.ReactNode }) {
  return (
    <article className="card" aria-label={title}>
      <h2>{title}</h2>
      {loading && <p role="status">Loading…</p>}
      {error && <p role="alert">{error}</p>}
      {children}
    </article>
  );
}
