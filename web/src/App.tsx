import { useState } from "react";
import { Navigate, NavLink, Route, Routes, useLocation, useNavigate } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { api, loadSession, saveSession, type Page, type Session, type Tenant } from "./lib/api";
import { SignIn } from "./pages/SignIn";
import { Overview } from "./pages/Overview";
import { Rules } from "./pages/Rules";
import { Hosts } from "./pages/Hosts";
import { Plans } from "./pages/Plans";

/** The console's frame: sign-in when there is no session, otherwise the tenant pages under a header. */
export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const navigate = useNavigate();
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
    <div className="frame">
      <Header session={session} onSignOut={signOut} />
      <main>
        <Routes>
          <Route path="/tenants/:tenantId" element={<Overview session={session} />} />
          <Route path="/tenants/:tenantId/hosts" element={<Hosts session={session} />} />
          <Route path="/tenants/:tenantId/rules" element={<Rules session={session} />} />
          <Route path="/tenants/:tenantId/plans" element={<Plans session={session} />} />
          <Route path="*" element={<FirstTenant session={session} />} />
        </Routes>
      </main>
    </div>
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
  return first ? <Navigate to={`/tenants/${first.id}`} replace /> : <p>No tenant yet. A platform admin creates tenants through the API.</p>;
}

function Header({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const tenants = useTenants(session);
  const navigate = useNavigate();
  const location = useLocation();
  const current = location.pathname.match(/^\/tenants\/([^/]+)/)?.[1] ?? "";
  return (
    <header className="header">
      <strong className="brand">Alto</strong>
      <label>
        Tenant{" "}
        <select aria-label="Tenant" value={current} onChange={(event) => navigate(`/tenants/${event.target.value}`)}>
          {(tenants.data?.items ?? []).map((tenant) => (
            <option key={tenant.id} value={tenant.id}>
              {tenant.name}
            </option>
          ))}
        </select>
      </label>
      {current && (
        <nav aria-label="Pages">
          <NavLink to={`/tenants/${current}`} end>
            Overview
          </NavLink>
          <NavLink to={`/tenants/${current}/hosts`}>Hosts</NavLink>
          <NavLink to={`/tenants/${current}/rules`}>Rules</NavLink>
          <NavLink to={`/tenants/${current}/plans`}>Plans</NavLink>
        </nav>
      )}
      <span className="who">
        {session.user.username} ({session.user.role})
      </span>
      <button type="button" onClick={onSignOut}>
        Sign out
      </button>
    </header>
  );
}
