import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, download, type Page, type Session, type Tenant } from "../lib/api";
import { failureMessage } from "../lib/format";
import { useFieldErrors } from "../components/FieldErrors";
import { QueryState } from "../components/Loading";
import { Pager } from "../components/Pager";

const PageSize = 50;

/** Every tenant, for the platform admin: open one, add one, disable or enable one; and the installation's recovery kit. */
export function Tenants({ session }: { session: Session }) {
  const queries = useQueryClient();
  const [page, setPage] = useState(1);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const { refused, clear, problem } = useFieldErrors();
  const [message, setMessage] = useState<string | null>(null);
  const tenants = useQuery({
    queryKey: ["all-tenants", page],
    queryFn: () => api<Page<Tenant>>(`/tenants?page=${page}&pageSize=${PageSize}`, {}, session),
    placeholderData: keepPreviousData,
  });
  const refresh = () => {
    void queries.invalidateQueries({ queryKey: ["all-tenants"] });
    void queries.invalidateQueries({ queryKey: ["tenants"] });
  };
  const create = useMutation({
    mutationFn: () => api<Tenant>("/tenants", { method: "POST", body: JSON.stringify({ name, description }) }, session),
    onSuccess: (tenant) => {
      setName("");
      setDescription("");
      clear();
      setMessage(`Tenant ${tenant.name} created.`);
      refresh();
    },
    onError: refused,
  });
  const toggle = useMutation({
    mutationFn: (tenant: Tenant) => api<Tenant>(`/tenants/${tenant.id}/${tenant.status === "active" ? "disable" : "enable"}`, { method: "POST" }, session),
    onSuccess: (tenant) => {
      setMessage(`Tenant ${tenant.name} is ${tenant.status}.`);
      refresh();
    },
    onError: (error) => setMessage(failureMessage(error)),
  });
  const kit = useMutation({
    mutationFn: () => download("/recovery-kit", `alto-recovery-kit-${new Date().toISOString().slice(0, 10)}.json`, session),
    onSuccess: () => setMessage("Recovery kit downloaded: keep it apart from the database backups, where the master key is kept."),
    onError: (error) => setMessage(failureMessage(error)),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };

  return (
    <section aria-labelledby="tenants-title">
      <h1 id="tenants-title">Tenants</h1>
      <QueryState query={tenants} what="tenants" empty={(data) => data.items.length === 0} />
      {tenants.data && tenants.data.items.length > 0 && (
        <>
          <table aria-label="Tenants">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Description</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {tenants.data.items.map((tenant) => (
                <tr key={tenant.id} data-testid="tenant">
                  <td>
                    <Link to={`/tenants/${tenant.id}`}>{tenant.name}</Link>
                  </td>
                  <td>{tenant.description}</td>
                  <td>{tenant.status}</td>
                  <td>
                    <button type="button" onClick={() => toggle.mutate(tenant)} disabled={toggle.isPending}>
                      {tenant.status === "active" ? `Disable ${tenant.name}` : `Enable ${tenant.name}`}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} pageSize={PageSize} total={tenants.data.total} onPage={setPage} label="tenants" />
        </>
      )}
      {message && <p role="status">{message}</p>}
      <form className="editor" onSubmit={submit} aria-label="New tenant">
        <h2>New tenant</h2>
        <label>
          Name <input aria-label="Tenant name" value={name} onChange={(e) => setName(e.target.value)} />
          {problem("name")}
        </label>
        <label>
          Description <input aria-label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
          {problem("description")}
        </label>
        {problem("")}
        <button type="submit" disabled={create.isPending}>
          Add tenant
        </button>
      </form>
      <section className="editor" aria-labelledby="recovery-title">
        <h2 id="recovery-title">Disaster recovery</h2>
        <p>
          The recovery kit holds every tenant&apos;s keys, wrapped by the master key, and every storage target with its credentials sealed.
          With the master key it brings every stub back from tier 2 if the database and its backups are lost (
          <code>alto-agent recall --kit</code>). Download it again after a new tenant, target or key rotation.
        </p>
        <button type="button" onClick={() => kit.mutate()} disabled={kit.isPending}>
          Download the recovery kit
        </button>
      </section>
    </section>
  );
}
