/** The filters of the audit page, as typed. */
export interface AuditFilters {
  from: string;
  to: string;
  actor: string;
  action: string;
  hostId: string;
  pathPrefix: string;
}

export const NoAuditFilters: AuditFilters = { from: "", to: "", actor: "", action: "", hostId: "", pathPrefix: "" };

/**
 * The audit list's query string from the filters: empty ones are left out, and the dates of the
 * date inputs (the admin's day) become the instants the API filters on, the "to" day included whole.
 */
export function auditQuery(filters: AuditFilters, page: number, pageSize: number): string {
  const query = new URLSearchParams({ page: String(page), pageSize: String(pageSize) });
  if (filters.from) {
    query.set("from", new Date(`${filters.from}T00:00:00`).toISOString());
  }
  if (filters.to) {
    const end = new Date(`${filters.to}T00:00:00`);
    end.setDate(end.getDate() + 1);
    query.set("to", end.toISOString());
  }
  for (const key of ["actor", "action", "hostId", "pathPrefix"] as const) {
    if (filters[key].trim()) {
      query.set(key, filters[key].trim());
    }
  }
  return query.toString();
}
