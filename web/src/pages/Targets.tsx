import { useState, type FormEvent } from "react";
import { useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Page, type Session } from "../lib/api";
import { failureMessage } from "../lib/format";
import { canManage } from "../lib/roles";
import { newTargetRequest, targetLocation, type Target } from "../lib/targets";
import { useFieldErrors } from "../components/FieldErrors";
import { QueryState } from "../components/Loading";

const KindFields: Record<string, [string, string][]> = {
  path: [["path", "Folder (an SMB share or any mounted path)"]],
  s3: [
    ["bucket", "Bucket"],
    ["region", "Region"],
    ["endpoint", "Endpoint (S3-compatible stores)"],
    ["prefix", "Key prefix"],
    ["accessKeyId", "Access key id"],
    ["secretAccessKey", "Secret access key"],
  ],
  azure: [
    ["container", "Container"],
    ["accountUrl", "Account URL"],
    ["prefix", "Blob prefix"],
    ["connectionString", "Connection string"],
  ],
};

/**
 * The tenant's tier-2 storage targets, where each keeps its objects and whether it takes new ones;
 * admins add a target, turn one off or on, delete one that nothing names (added by mistake), and
 * rotate the tenant key that seals the targets' credentials and wraps tier-2 data keys.
 */
export function Targets({ session }: { session: Session }) {
  const { tenantId = "" } = useParams();
  const queries = useQueryClient();
  const manage = canManage(session);
  const base = `/tenants/${tenantId}/targets`;
  const [message, setMessage] = useState<string | null>(null);
  const targets = useQuery({ queryKey: ["targets", tenantId], queryFn: () => api<Page<Target>>(`${base}?pageSize=200`, {}, session) });
  const refresh = () => void queries.invalidateQueries({ queryKey: ["targets", tenantId] });
  const toggle = useMutation({
    mutationFn: (target: Target) => api<Target>(`${base}/${target.id}`, { method: "PATCH", body: JSON.stringify({ enabled: !target.enabled }) }, session),
    onSuccess: (target) => {
      setMessage(`${target.name} ${target.enabled ? "takes new objects again" : "takes no new objects; what it holds is still recalled"}.`);
      refresh();
    },
    onError: (error) => setMessage(failureMessage(error)),
  });
  const remove = useMutation({
    mutationFn: async (target: Target) => {
      await api<void>(`${base}/${target.id}`, { method: "DELETE" }, session);
      return target;
    },
    onSuccess: (target) => {
      setMessage(`${target.name} is deleted.`);
      refresh();
    },
    // A target that a rule, a file or a reconciliation names stays; the answer says what names it.
    onError: (error) => setMessage(failureMessage(error)),
  });
  const rotate = useMutation({
    mutationFn: () => api<{ keyVersion: number; resealedTargets: number }>(`/tenants/${tenantId}/key/rotate`, { method: "POST" }, session),
    onSuccess: (key) => setMessage(`The tenant key is now at version ${key.keyVersion}; ${key.resealedTargets} target credential(s) sealed again.`),
    onError: (error) => setMessage(failureMessage(error)),
  });

  return (
    <section aria-labelledby="targets-title">
      <h1 id="targets-title">Storage targets</h1>
      <QueryState query={targets} what="storage targets" empty={(page) => page.items.length === 0} />
      {targets.data && targets.data.items.length > 0 && (
        <table aria-label="Storage targets">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Where</th>
              <th scope="col">Credentials</th>
              <th scope="col">New objects</th>
            </tr>
          </thead>
          <tbody>
            {targets.data.items.map((target) => (
              <tr key={target.id} data-testid="target">
                <td>{target.name}</td>
                <td>{target.kind}</td>
                <td>{targetLocation(target)}</td>
                <td>{target.hasCredentials ? "sealed" : "none"}</td>
                <td>
                  {target.enabled ? "taken" : "refused"}{" "}
                  {manage && (
                    <button type="button" onClick={() => toggle.mutate(target)} disabled={toggle.isPending}>
                      {target.enabled ? `Turn ${target.name} off` : `Turn ${target.name} on`}
                    </button>
                  )}{" "}
                  {manage && (
                    <button type="button" onClick={() => remove.mutate(target)} disabled={remove.isPending}>
                      {`Delete ${target.name}`}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {message && <p role="status">{message}</p>}
      {manage && (
        <>
          <NewTarget base={base} session={session} onCreated={refresh} />
          <h2>Tenant key</h2>
          <p>Rotating makes a new key version: new data keys and credentials are sealed with it; what the old versions sealed still opens.</p>
          <button type="button" onClick={() => rotate.mutate()} disabled={rotate.isPending}>
            Rotate the tenant key
          </button>
        </>
      )}
    </section>
  );
}

function NewTarget({ base, session, onCreated }: { base: string; session: Session; onCreated: () => void }) {
  const [kind, setKind] = useState("path");
  const [fields, setFields] = useState<Record<string, string>>({});
  const { refused, clear, problem } = useFieldErrors();
  const create = useMutation({
    mutationFn: () => api<Target>(base, { method: "POST", body: JSON.stringify(newTargetRequest(kind, fields)) }, session),
    onSuccess: () => {
      setFields({});
      clear();
      onCreated();
    },
    onError: refused,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <form className="editor" onSubmit={submit} aria-label="New target">
      <h2>New target</h2>
      <label>
        Name <input aria-label="Target name" value={fields.name ?? ""} onChange={(e) => setFields({ ...fields, name: e.target.value })} />
        {problem("name")}
      </label>
      <label>
        Kind{" "}
        <select aria-label="Kind" value={kind} onChange={(e) => setKind(e.target.value)}>
          <option value="path">Folder or SMB share</option>
          <option value="s3">S3</option>
          <option value="azure">Azure Blob</option>
        </select>
      </label>
      {KindFields[kind].map(([name, label]) => (
        <label key={name}>
          {label}{" "}
          <input
            aria-label={label}
            type={name.toLowerCase().includes("secret") || name === "connectionString" ? "password" : "text"}
            value={fields[name] ?? ""}
            onChange={(e) => setFields({ ...fields, [name]: e.target.value })}
          />
          {problem(`settings.${name}`)}
          {problem(`credentials.${name}`)}
        </label>
      ))}
      {problem("settings")}
      {problem("credentials")}
      {problem("")}
      <button type="submit" disabled={create.isPending}>
        Add target
      </button>
    </form>
  );
}
