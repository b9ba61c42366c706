import { useState } from "react";
import { Navigate, NavLink, Route, Routes, useLocation, useNavigate } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { api, loadSession, saveSession, type Page, type Session, type Tenant } from "./lib/api";
import { LiveLabels, LiveProvider, useLiveState } from "./lib/live";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { canManage, canSupport, isPlatformAdmin } from "./lib/roles";
import { SignIn } from "./pages/SignIn";
import { Overview } from "./pages/Overview";
import { Rules } from "./pages/Rules";
import { Hosts } from "./pages/Hosts";
import { Plans } from "./pages/Plans";
import { Jobs } from "./pages/Jobs";
import { Inventory } from "./pages/Inventory";
import { Audit } from "./pages/Audit";
import { Sanitizer } from "./pages/Sanitizer";
import { Targets } from "./pages/Targets";
import { Users } from "./pages/Users";
import { Tenants } from "./pages/Tenants";

/** The console's frame: sign-in when there is no session, otherwise the tenant pages under a header. */
export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const navigate = useNavigate();
  const { pathname } = useLocation();
  const signIn = (next: Session) => {
    saveSession(next);
    setSession(next);
    navigate("/");
  };
  const signOut = () => {
    saveSession(null);
    setSession(null);
    navigate("/sign-in");
  };
  if (!session) {
    return (
      <Routes>
        <Route path="*" element={<SignIn onSignedIn={signIn} />} />
      </Routes>
    );
  }
  return (
    <LiveProvider session={session}>
      <div className="frame">
        <Header session={session} onSignOut={signOut} />
        <main>
          {/* A page that fails to draw says so; the header, its live connection and the other pages stay. */}
          <ErrorBoundary what="this page" key={pathname}>
            <Routes>
              <Route path="/tenants/:tenantId" element={<Overview session={session} />} />
              <Route path="/tenants/:tenantId/hosts" element={<Hosts session={session} />} />
              <Route path="/tenants/:tenantId/inventory" element={<Inventory session={session} />} />
              <Route path="/tenants/:tenantId/rules" element={<Rules session={session} />} />
              <Route path="/tenants/:tenantId/plans" element={<Plans session={session} />} />
              <Route path="/tenants/:tenantId/jobs" element={<Jobs session={session} />} />
              <Route path="/tenants/:tenantId/sanitizer" element={<Sanitizer session={session} />} />
              <Route path="/tenants/:tenantId/audit" element={<Audit session={session} />} />
              <Route path="/tenants/:tenantId/targets" element={<Targets session={session} />} />
              <Route path="/tenants/:tenantId/users" element={<Users session={session} />} />
              <Route path="/tenants/:tenantId/tenants" element={<Tenants session={session} />} />
              <Route path="*" element={<FirstTenant session={session} />} />
            </Routes>
          </ErrorBoundary>
        </main>
      </div>
    </LiveProvider>
  );
}

function useTenants(session: Session) {
  return useQuery({ queryKey: ["tenants", session.user.id], queryFn: () => api<Page<Tenant>>("/tenants?pageSize=200", {}, session) });
}

/** Opens the first tenant the user sees, or says there is none. */
function FirstTenant({ session }: { session: Session }) {
  const tenants = useTenants(session);
  if (tenants.isPending) {
    return <p role="status">Loading tenants…</p>;
  }
  if (tenants.isError) {
    return <p role="alert">The tenants could not be read: {tenants.error.message}</p>;
  }
  const first = tenants.data.items[0];
  if (first) {
    return <Navigate to={`/tenants/${first.id}`} replace />;
  }
  return isPlatformAdmin(session) ? <Tenants session={session} /> : <p>No tenant yet. A platform admin gives you access to one.</p>;
}

/** The pages of a tenant, each shown only to the roles that may open it. */
function pagesFor(session: Session): [string, string][] {
  return [
    ["", "Overview"],
    ["/hosts", "Hosts"],
    ["/inventory", "Inventory"],
    ["/rules", "Rules"],
    ["/plans", "Plans"],
    ["/jobs", "Jobs"],
    ...(canSupport(session) ? ([["/sanitizer", "Sanitizer"], ["/audit", "Audit"]] as [string, string][]) : []),
    ["/targets", "Targets"],
    ...(canManage(session) ? ([["/users", "Users"]] as [string, string][]) : []),
    ...(isPlatformAdmin(session) ? ([["/tenants", "Tenants"]] as [string, string][]) : []),
  ];
}

function Header({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const tenants = useTenants(session);
  const navigate = useNavigate();
  const location = useLocation();
  const live = useLiveState();
  const current = location.pathname.match(/^\/tenants\/([^/]+)/)?.[1] ?? "";
  // Switching tenant keeps the page the user is on.
  const page = location.pathname.match(/^\/tenants\/[^/]+(\/[^/]+)?/)?.[1] ?? "";
  return (
    <header className="header">
      <strong className="brand">Alto</strong>
      <label>
        Tenant{" "}
        <select aria-label="Tenant" value={current} onChange={(event) => navigate(`/tenants/${event.target.value}${page}`)}>
          {!current && <option value="">Choose a tenant</option>}
          {(tenants.data?.items ?? []).map((tenant) => (
            <option key={tenant.id} value={tenant.id}>
              {tenant.name}
            </option>
          ))}
        </select>
      </label>
      {current && (
        <nav aria-label="Pages">
          {pagesFor(session).map(([path, name]) => (
            <NavLink key={name} to={`/tenants/${current}${path}`} end>
              {name}
            </NavLink>
          ))}
        </nav>
      )}
      <span role="status" className={`live live-${live}`} data-testid="live-state">
        {LiveLabels[live]}
      </span>
      <span className="who">
        {session.user.username} ({session.user.role})
      </span>
      <button type="button" onClick={onSignOut}>
        Sign out
      </button>
    </header>
  );
}
