import { useState, type FormEvent } from "react";
import { useParams } from "react-router";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, type Host, type Page, type Session } from "../lib/api";
import { formatBytes, formatTime } from "../lib/format";
import { baseName, breadcrumbs } from "../lib/paths";
import { canSupport } from "../lib/roles";
import { QueryState } from "../components/Loading";

interface DirectoryUsage {
  path: string;
  files: number;
  bytes: number;
  tieredBytes: number;
  coldBytes: number;
}

interface DirectoryReport {
  path: string;
  coldBefore: string;
  here: DirectoryUsage;
  directories: DirectoryUsage[];
}

interface InventoryFile {
  id: number;
  hostId: string;
  path: string;
  sizeBytes: number;
  accessedAt: string;
  modifiedAt: string;
  owner?: string;
  extension: string;
  tiered: boolean;
}

interface SearchForm {
  path: string;
  minSize: string;
  accessedOverDays: string;
  owner: string;
  extension: string;
  state: string;
}

const NoSearch: SearchForm = { path: "", minSize: "", accessedOverDays: "", owner: "", extension: "", state: "" };

/**
 * The inventory of a host: its directory tree, each folder with what lies below it and how much of
 * that is cold; a search over its files (rbh-find's filters); and a file's tier state and history.
 */
export function Inventory({ session }: { session: Session }) {
  const { tenantId = "" } = useParams();
  const hosts = useQuery({ queryKey: ["hosts", tenantId], queryFn: () => api<Page<Host>>(`/tenants/${tenantId}/hosts?pageSize=200`, {}, session) });
  const [chosenHost, setChosenHost] = useState("");
  const host = hosts.data?.items.find((item) => item.id === chosenHost) ?? hosts.data?.items[0];
  const [file, setFile] = useState<InventoryFile | null>(null);

  return (
    <section aria-labelledby="inventory-title">
      <h1 id="inventory-title">Inventory</h1>
      <QueryState query={hosts} what="hosts" empty={(page) => page.items.length === 0} />
      {host && (
        <>
          <label>
            Host{" "}
            <select aria-label="Host" value={host.id} onChange={(e) => (setChosenHost(e.target.value), setFile(null))}>
              {hosts.data?.items.map((item) => (
                <option key={item.id} value={item.id}>
                  {item.name}
                </option>
              ))}
            </select>
          </label>
          <DirectoryTree key={host.id} tenantId={tenantId} host={host} session={session} />
          <Search key={`search-${host.id}`} tenantId={tenantId} host={host} session={session} onOpen={setFile} />
          {file && <FileHistory tenantId={tenantId} file={file} session={session} onClose={() => setFile(null)} />}
        </>
      )}
    </section>
  );
}

/** A folder at a time, its subfolders by cold bytes; a click goes down, the breadcrumbs go up. */
function DirectoryTree({ tenantId, host, session }: { tenantId: string; host: Host; session: Session }) {
  const [path, setPath] = useState(host.volumes[0] ?? "/");
  const [coldDays, setColdDays] = useState(90);
  const report = useQuery({
    queryKey: ["directories", tenantId, host.id, path, coldDays],
    queryFn: () =>
      api<DirectoryReport>(`/tenants/${tenantId}/analytics/directories?hostId=${host.id}&path=${encodeURIComponent(path)}&coldDays=${coldDays}&limit=50`, {}, session),
    placeholderData: keepPreviousData,
  });
  return (
    <div className="card" aria-label="Directory tree">
      <h2>Folders</h2>
      <nav aria-label="Folder path" className="crumbs">
        {breadcrumbs(path).map((crumb) => (
          <button type="button" className="link" key={crumb.path} onClick={() => setPath(crumb.path)} aria-current={crumb.path === path ? "location" : undefined}>
            {crumb.name}
          </button>
        ))}
      </nav>
      <label>
        Cold means not read for{" "}
        <select aria-label="Cold after (days)" value={coldDays} onChange={(e) => setColdDays(Number(e.target.value))}>
          {[30, 90, 180, 365, 730].map((days) => (
            <option key={days} value={days}>
              {days} days
            </option>
          ))}
        </select>
      </label>
      <QueryState query={report} what="folders" />
      {report.data && (
        <table aria-label="Folders">
          <thead>
            <tr>
              <th scope="col">Folder</th>
              <th scope="col">Files</th>
              <th scope="col">Size</th>
              <th scope="col">Cold</th>
              <th scope="col">Tiered</th>
            </tr>
          </thead>
          <tbody>
            <tr className="here" data-testid="folder-here">
              <td>(everything here)</td>
              <td>{report.data.here.files}</td>
              <td>{formatBytes(report.data.here.bytes)}</td>
              <td>{formatBytes(report.data.here.coldBytes)}</td>
              <td>{formatBytes(report.data.here.tieredBytes)}</td>
            </tr>
            {report.data.directories.map((directory) => (
              <tr key={directory.path} data-testid="folder">
                <td>
                  <button type="button" className="link" onClick={() => setPath(directory.path)}>
                    {baseName(directory.path)}
                  </button>
                </td>
                <td>{directory.files}</td>
                <td>{formatBytes(directory.bytes)}</td>
                <td>
                  <meter aria-label={`Cold share of ${baseName(directory.path)}`} min={0} max={Math.max(1, directory.bytes)} value={directory.coldBytes} />{" "}
                  {formatBytes(directory.coldBytes)}
                </td>
                <td>{formatBytes(directory.tieredBytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** A search over the host's live files, a page at a time after a cursor; a click opens a file's history. */
function Search({ tenantId, host, session, onOpen }: { tenantId: string; host: Host; session: Session; onOpen: (file: InventoryFile) => void }) {
  const [draft, setDraft] = useState<SearchForm>(NoSearch);
  const [query, setQuery] = useState<string | null>(null);
  const [cursors, setCursors] = useState<string[]>([]);
  const after = cursors.at(-1);
  const results = useQuery({
    queryKey: ["inventory", tenantId, host.id, query, after],
    queryFn: () => api<{ items: InventoryFile[]; next?: string }>(`/tenants/${tenantId}/inventory/search?${query}${after ? `&after=${after}` : ""}`, {}, session),
    enabled: query !== null,
    placeholderData: keepPreviousData,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const params = new URLSearchParams({ hostId: host.id, limit: "50" });
    for (const [key, value] of Object.entries(draft)) {
      if (value.trim()) {
        params.set(key, value.trim());
      }
    }
    setQuery(params.toString());
    setCursors([]);
  };
  const field = (name: keyof SearchForm) => ({
    value: draft[name],
    onChange: (event: { target: { value: string } }) => setDraft({ ...draft, [name]: event.target.value }),
  });
  return (
    <div className="card" aria-label="File search">
      <h2>Search</h2>
      <form className="filters" onSubmit={submit} aria-label="Search files">
        <label>
          Path (glob) <input aria-label="Path glob" placeholder="/srv/**/*.psd" {...field("path")} />
        </label>
        <label>
          Smallest (bytes) <input aria-label="Smallest (bytes)" inputMode="numeric" {...field("minSize")} />
        </label>
        <label>
          Not read for (days) <input aria-label="Not read for (days)" inputMode="numeric" {...field("accessedOverDays")} />
        </label>
        <label>
          Owner <input aria-label="Owner" {...field("owner")} />
        </label>
        <label>
          Extension <input aria-label="Extension" {...field("extension")} />
        </label>
        <label>
          State{" "}
          <select aria-label="State" {...field("state")}>
            <option value="">any</option>
            <option value="local">local</option>
            <option value="tiered">tiered</option>
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      {query !== null && <QueryState query={results} what="matching files" empty={(page) => page.items.length === 0} />}
      {results.data && results.data.items.length > 0 && (
        <>
          <table aria-label="Files found">
            <thead>
              <tr>
                <th scope="col">Path</th>
                <th scope="col">Size</th>
                <th scope="col">Last read</th>
                <th scope="col">Owner</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {results.data.items.map((item) => (
                <tr key={item.id} data-testid="found-file">
                  <td>
                    <button type="button" className="link" onClick={() => onOpen(item)}>
                      {item.path}
                    </button>
                  </td>
                  <td>{formatBytes(item.sizeBytes)}</td>
                  <td>{formatTime(item.accessedAt)}</td>
                  <td>{item.owner ?? ""}</td>
                  <td>{item.tiered ? "tiered" : "local"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="actions">
            <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous
            </button>
            <button type="button" disabled={!results.data.next} onClick={() => results.data.next && setCursors([...cursors, results.data.next])}>
              Next
            </button>
          </div>
        </>
      )}
    </div>
  );
}

interface TierObject {
  state: string;
  sizeBytes: number;
  attempts: number;
  lastError?: string;
  plannedAt?: string;
  actedAt?: string;
  lastAccessedAt?: string;
  accessCount: number;
  sha256?: string;
  locator?: string;
}

/** A file's tier state (its tier object) and, for those who may read the audit trail, what happened to it. */
function FileHistory({ tenantId, file, session, onClose }: { tenantId: string; file: InventoryFile; session: Session; onClose: () => void }) {
  const tier = useQuery({
    queryKey: ["tier-object", tenantId, file.hostId, file.path],
    queryFn: () => api<Page<TierObject & { path: string }>>(`/tenants/${tenantId}/tier-objects?hostId=${file.hostId}&pathPrefix=${encodeURIComponent(file.path)}&pageSize=5`, {}, session),
  });
  const history = useQuery({
    queryKey: ["file-audit", tenantId, file.hostId, file.path],
    queryFn: () =>
      api<Page<{ seq: number; at: string; actor: string; action: string; outcome: string; path?: string }>>(
        `/tenants/${tenantId}/audit?hostId=${file.hostId}&pathPrefix=${encodeURIComponent(file.path)}&pageSize=50`,
        {},
        session,
      ),
    enabled: canSupport(session),
  });
  const object = tier.data?.items.find((item) => item.path === file.path);
  const events = history.data?.items.filter((entry) => entry.path === file.path) ?? [];
  return (
    <aside className="card" aria-label={`History of ${file.path}`}>
      <h2>{file.path}</h2>
      <button type="button" onClick={onClose}>
        Close
      </button>
      <dl>
        <dt>Size</dt>
        <dd>{formatBytes(file.sizeBytes)}</dd>
        <dt>Modified</dt>
        <dd>{formatTime(file.modifiedAt)}</dd>
        <dt>Last read</dt>
        <dd>{formatTime(file.accessedAt)}</dd>
        <dt>Tier state</dt>
        <dd data-testid="file-tier-state">{tier.isPending ? "…" : object ? object.state : "never tiered"}</dd>
        {object && (
          <>
            <dt>Last change</dt>
            <dd>{formatTime(object.actedAt)}</dd>
            <dt>Opened since tiered</dt>
            <dd>{object.accessCount}</dd>
            {object.sha256 && (
              <>
                <dt>SHA-256</dt>
                <dd className="details">{object.sha256}</dd>
              </>
            )}
            {object.lastError && (
              <>
                <dt>Problem</dt>
                <dd>{object.lastError}</dd>
              </>
            )}
          </>
        )}
      </dl>
      {canSupport(session) && (
        <>
          <h3>History</h3>
          <QueryState query={history} what="history" />
          {history.data && events.length === 0 && <p>Nothing in the audit trail for this file.</p>}
          {events.length > 0 && (
            <ol aria-label="File history">
              {events.map((entry) => (
                <li key={entry.seq}>
                  {formatTime(entry.at)} — {entry.action} by {entry.actor} ({entry.outcome})
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </aside>
  );
}
