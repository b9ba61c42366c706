import { Suspense, useState } from "react";
import { useParams } from "react-router";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type CapacityReport, type Host, type Page, type SavingsReport, type Session } from "../lib/api";
import { formatBytes, formatMoney } from "../lib/format";
import { refreshAfterEvent } from "../lib/refresh";
import { useLiveEvents, type LiveEvent } from "../lib/live";
import { Card } from "../components/Card";
import { ErrorBoundary } from "../components/ErrorBoundary";
import { reloadableLazy } from "../lib/lazy";

// The chart library is loaded with the chart, not with the console's first page.
const SavingsTrend = reloadableLazy(() => import("../components/SavingsTrend"));

const InFlightStatuses = ["queued", "dispatched", "running"];

interface StateCount {
  state: string;
  files: number;
  bytes: number;
}

/**
 * A tenant at a glance: capacity local and tiered, savings a month and their trend, hosts online,
 * jobs in flight, recalls today, what needs attention, and what is happening now.
 */
export function Overview({ session }: { session: Session }) {
  const { tenantId = "" } = useParams();
  const queries = useQueryClient();
  const base = `/tenants/${tenantId}`;
  const capacity = useQuery({ queryKey: ["capacity", tenantId], queryFn: () => api<CapacityReport>(`${base}/analytics/capacity?by=access-age`, {}, session) });
  const savings = useQuery({ queryKey: ["savings", tenantId], queryFn: () => api<SavingsReport>(`${base}/analytics/savings?days=90`, {}, session) });
  const hosts = useQuery({ queryKey: ["hosts", tenantId], queryFn: () => api<Page<Host>>(`${base}/hosts?pageSize=200`, {}, session) });
  const jobs = useQuery({
    queryKey: ["jobs-in-flight", tenantId],
    queryFn: async () => {
      const count = (status: string) => api<Page<unknown>>(`${base}/jobs?status=${status}&pageSize=1`, {}, session).then((page) => page.total);
      const [awaiting, ...moving] = await Promise.all(["awaiting_approval", ...InFlightStatuses].map(count));
      return { awaiting, inFlight: moving.reduce((sum, total) => sum + total, 0) };
    },
  });
  const today = useQuery({
    queryKey: ["daily", tenantId],
    queryFn: () => api<{ days: { recalledFiles: number; recalledBytes: number }[] }>(`${base}/analytics/daily?days=1`, {}, session),
  });
  const states = useQuery({ queryKey: ["tier-states", tenantId], queryFn: () => api<StateCount[]>(`${base}/tier-objects/summary`, {}, session) });
  const failedJobs = useQuery({ queryKey: ["jobs-failed", tenantId], queryFn: () => api<Page<unknown>>(`${base}/jobs?status=failed&pageSize=1`, {}, session) });
  const [events, setEvents] = useState<LiveEvent[]>([]);
  useLiveEvents(tenantId, (event) => {
    setEvents((earlier) => [event, ...earlier].slice(0, 20));
    // What an event changes is read again, not patched by hand.
    const stale: Record<string, string[]> = {
      "host.status": ["hosts"],
      "scan.completed": ["capacity", "savings"],
      "tier.states": ["capacity", "savings", "tier-states"],
      "job.progress": ["jobs-in-flight", "jobs-failed"],
      "plan.completed": ["jobs-in-flight"],
      "approval.needed": ["jobs-in-flight"],
      recalls: ["daily", "tier-states"],
    };
    // A change an admin makes to a host (registered, changed) reaches the page as its audit entry.
    const changed = event.kind === "audit" && event.data.objectType === "host" ? ["hosts"] : (stale[event.kind] ?? []);
    for (const key of changed) {
      refreshAfterEvent(queries, [key, tenantId]);
    }
  });
  const online = hosts.data?.items.filter((host) => host.status === "online").length ?? 0;
  const alerts = [
    ...(hosts.data?.items.filter((host) => host.status === "offline").map((host) => `Host ${host.name} is offline.`) ?? []),
    ...(states.data ?? [])
      .filter((count) => (count.state === "FAILED" || count.state === "LOST") && count.files > 0)
      .map((count) => (count.state === "LOST" ? `${count.files} tiered file(s) lost their tier-2 copy.` : `${count.files} file(s) failed to tier.`)),
    ...(failedJobs.data && failedJobs.data.total > 0 ? [`${failedJobs.data.total} job(s) failed.`] : []),
  ];

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
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
        <Card title="Activity" loading={hosts.isPending || jobs.isPending || today.isPending} error={(hosts.error ?? jobs.error ?? today.error)?.message}>
          <dl>
            <dt>Hosts online</dt>
            <dd data-testid="hosts-online">{hosts.data && `${online} of ${hosts.data.total} online`}</dd>
            <dt>Jobs in flight</dt>
            <dd data-testid="jobs-in-flight">{jobs.data?.inFlight}</dd>
            <dt>Awaiting approval</dt>
            <dd data-testid="jobs-awaiting">{jobs.data?.awaiting}</dd>
            <dt>Recalls today</dt>
            <dd data-testid="recalls-today">{today.data && (today.data.days.at(-1)?.recalledFiles ?? 0)}</dd>
          </dl>
        </Card>
        <Card title="Alerts" loading={states.isPending} error={states.error?.message}>
          {alerts.length === 0 ? (
            <p data-testid="alerts">Nothing needs attention.</p>
          ) : (
            <ul data-testid="alerts" className="alerts">
              {alerts.map((alert) => (
                <li key={alert}>{alert}</li>
              ))}
            </ul>
          )}
        </Card>
      </div>
      <h2>Savings trend</h2>
      {savings.data && (
        <ErrorBoundary what="the savings chart" onRetry={SavingsTrend.reload}>
          <Suspense fallback={<p role="status">Loading the chart…</p>}>
            <SavingsTrend.Component days={savings.data.days} currency={savings.data.currency} />
          </Suspense>
        </ErrorBoundary>
      )}
      <h2>Hosts</h2>
      {hosts.data && hosts.data.items.length === 0 && <p>No host yet.</p>}
      {hosts.data && hosts.data.items.length > 0 && (
        <table aria-label="Hosts">
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
