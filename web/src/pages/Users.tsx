import { useState, type FormEvent, type ReactNode } from "react";
import { useParams } from "react-router";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Page, type Session, type Tenant } from "../lib/api";
import { failureMessage, formatTime } from "../lib/format";
import { isPlatformAdmin } from "../lib/roles";
import { useFieldErrors } from "../components/FieldErrors";
import { QueryState } from "../components/Loading";
import { Pager } from "../components/Pager";

interface User {
  id: string;
  username: string;
  role: string;
  disabled: boolean;
  tenantIds: string[];
  lastLoginAt?: string;
  /** Whether the signed-in admin may act on this user (a tenant admin only on users all of whose tenants are its own). */
  manageable?: boolean;
}

const Roles: [string, string][] = [
  ["viewer", "viewer — reads"],
  ["support", "support — reads, recalls, audit"],
  ["tenant-admin", "tenant admin — everything in its tenants"],
  ["platform-admin", "platform admin — every tenant"],
];
const PageSize = 50;

/**
 * Users and their roles: a platform admin sees everyone, a tenant admin the users of its tenants.
 * Admins add a user, change a user's role and tenants or set its password (both sign the user
 * out), disable or enable one (disabling signs the user out), clear lockouts and sign a user out
 * everywhere.
 */
export function Users({ session }: { session: Session }) {
  const { tenantId = "" } = useParams();
  const queries = useQueryClient();
  const [page, setPage] = useState(1);
  const [message, setMessage] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const users = useQuery({ queryKey: ["users", page], queryFn: () => api<Page<User>>(`/users?page=${page}&pageSize=${PageSize}`, {}, session), placeholderData: keepPreviousData });
  const tenants = useQuery({ queryKey: ["tenants", session.user.id], queryFn: () => api<Page<Tenant>>("/tenants?pageSize=200", {}, session) });
  const refresh = () => void queries.invalidateQueries({ queryKey: ["users"] });
  const act = useMutation({
    mutationFn: ({ user, action }: { user: User; action: "disable" | "enable" | "unlock" | "sign-out" }) => {
      switch (action) {
        case "unlock":
          return api<unknown>(`/users/${user.id}/unlock`, { method: "POST" }, session);
        case "sign-out":
          return api<unknown>(`/users/${user.id}/revoke-sessions`, { method: "POST" }, session);
        default:
          return api<unknown>(`/users/${user.id}`, { method: "PATCH", body: JSON.stringify({ disabled: action === "disable" }) }, session);
      }
    },
    onSuccess: (_, { user, action }) => {
      setMessage(
        { disable: `${user.username} is disabled and signed out.`, enable: `${user.username} is enabled.`, unlock: `${user.username} may sign in again.`, "sign-out": `${user.username} is signed out everywhere.` }[
          action
        ],
      );
      refresh();
    },
    onError: (error) => setMessage(failureMessage(error)),
  });
  const tenantName = (id: string) => tenants.data?.items.find((tenant) => tenant.id === id)?.name ?? id.slice(0, 8);

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users and roles</h1>
      <QueryState query={users} what="users" empty={(data) => data.items.length === 0} />
      {users.data && users.data.items.length > 0 && (
        <>
          <table aria-label="Users">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Role</th>
                <th scope="col">Tenants</th>
                <th scope="col">Last sign-in</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.data.items.map((user) => (
                <tr key={user.id} data-testid="user">
                  <td>
                    {user.username}
                    {user.disabled && " (disabled)"}
                  </td>
                  <td>{user.role}</td>
                  <td>{user.role === "platform-admin" ? "all" : user.tenantIds.map(tenantName).join(", ")}</td>
                  <td>{formatTime(user.lastLoginAt)}</td>
                  <td>
                    {user.id !== session.user.id && user.manageable === false && <span>Also in another admin's tenants</span>}
                    {user.id !== session.user.id && user.manageable !== false && (
                      <div className="actions">
                        <button type="button" onClick={() => act.mutate({ user, action: user.disabled ? "enable" : "disable" })} disabled={act.isPending}>
                          {user.disabled ? `Enable ${user.username}` : `Disable ${user.username}`}
                        </button>
                        <button type="button" onClick={() => act.mutate({ user, action: "unlock" })} disabled={act.isPending}>
                          Unlock {user.username}
                        </button>
                        <button type="button" onClick={() => act.mutate({ user, action: "sign-out" })} disabled={act.isPending}>
                          Sign {user.username} out
                        </button>
                        <button type="button" aria-expanded={editing === user.id} onClick={() => setEditing(editing === user.id ? null : user.id)}>
                          Change {user.username}
                        </button>
                      </div>
                    )}
                    {editing === user.id && (
                      <UserEditor
                        session={session}
                        user={user}
                        tenants={tenants.data?.items ?? []}
                        onDone={(done) => {
                          setMessage(done);
                          setEditing(null);
                          refresh();
                        }}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} pageSize={PageSize} total={users.data.total} onPage={setPage} label="users" />
        </>
      )}
      {message && <p role="status">{message}</p>}
      <NewUser session={session} tenantId={tenantId} tenants={tenants.data?.items ?? []} onCreated={refresh} />
    </section>
  );
}

/** A user's role and tenants, and a new password, set by an admin; each change signs the user out. */
function UserEditor({ session, user, tenants, onDone }: { session: Session; user: User; tenants: Tenant[]; onDone: (message: string) => void }) {
  const [role, setRole] = useState(user.role);
  const [tenantIds, setTenantIds] = useState<string[]>(user.tenantIds);
  const [password, setPassword] = useState("");
  const { refused, problem } = useFieldErrors();
  const change = useMutation({
    mutationFn: () =>
      api<User>(`/users/${user.id}`, { method: "PATCH", body: JSON.stringify({ role, tenantIds: role === "platform-admin" ? [] : tenantIds }) }, session),
    onSuccess: () => onDone(role === user.role ? `${user.username}'s tenants are changed.` : `${user.username} is now ${role} and is signed out.`),
    onError: refused,
  });
  const reset = useMutation({
    mutationFn: () => api<unknown>(`/users/${user.id}/password`, { method: "POST", body: JSON.stringify({ password }) }, session),
    onSuccess: () => onDone(`${user.username} has a new password and is signed out.`),
    onError: refused,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    change.mutate();
  };
  return (
    <form className="editor" onSubmit={submit} aria-label={`Change ${user.username}`}>
      <RoleAndTenants session={session} tenants={tenants} role={role} onRole={setRole} tenantIds={tenantIds} onTenants={setTenantIds} problem={problem} />
      <button type="submit" disabled={change.isPending}>
        Save role and tenants
      </button>
      <label>
        New password{" "}
        <input aria-label={`New password for ${user.username}`} type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        {problem("password")}
      </label>
      <button type="button" onClick={() => reset.mutate()} disabled={reset.isPending || password === ""}>
        Set password
      </button>
      {problem("")}
    </form>
  );
}

/** The role to give and, for every role but platform admin, the tenants; a tenant admin is offered only its own tenants and no platform admin's role. */
function RoleAndTenants({
  session,
  tenants,
  role,
  onRole,
  tenantIds,
  onTenants,
  problem,
}: {
  session: Session;
  tenants: Tenant[];
  role: string;
  onRole: (role: string) => void;
  tenantIds: string[];
  onTenants: (ids: string[]) => void;
  problem: (field: string) => ReactNode;
}) {
  const roles = isPlatformAdmin(session) ? Roles : Roles.filter(([name]) => name !== "platform-admin");
  return (
    <>
      <label>
        Role{" "}
        <select aria-label="Role" value={role} onChange={(e) => onRole(e.target.value)}>
          {roles.map(([name, label]) => (
            <option key={name} value={name}>
              {label}
            </option>
          ))}
        </select>
        {problem("role")}
      </label>
      {role !== "platform-admin" && (
        <fieldset>
          <legend>Tenants</legend>
          {tenants.map((tenant) => (
            <label key={tenant.id} className="inline">
              <input
                type="checkbox"
                checked={tenantIds.includes(tenant.id)}
                onChange={(e) => onTenants(e.target.checked ? [...tenantIds, tenant.id] : tenantIds.filter((id) => id !== tenant.id))}
              />{" "}
              {tenant.name}
            </label>
          ))}
          {problem("tenantIds")}
        </fieldset>
      )}
    </>
  );
}

function NewUser({ session, tenantId, tenants, onCreated }: { session: Session; tenantId: string; tenants: Tenant[]; onCreated: () => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState("viewer");
  const [tenantIds, setTenantIds] = useState<string[]>([tenantId]);
  const { refused, clear, problem } = useFieldErrors();
  const create = useMutation({
    mutationFn: () =>
      api<User>("/users", { method: "POST", body: JSON.stringify({ username, password, role, tenantIds: role === "platform-admin" ? [] : tenantIds }) }, session),
    onSuccess: () => {
      setUsername("");
      setPassword("");
      clear();
      onCreated();
    },
    onError: refused,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  // A tenant admin hands out only its own tenants; the list the API gives it is exactly those.
  return (
    <form className="editor" onSubmit={submit} aria-label="New user">
      <h2>New user</h2>
      <label>
        Username <input aria-label="New username" autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value)} />
        {problem("username")}
      </label>
      <label>
        Password <input aria-label="New user's password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        {problem("password")}
      </label>
      <RoleAndTenants session={session} tenants={tenants} role={role} onRole={setRole} tenantIds={tenantIds} onTenants={setTenantIds} problem={problem} />
      {problem("")}
      <button type="submit" disabled={create.isPending}>
        Add user
      </button>
    </form>
  );
}
