import type { QueryClient } from "@tanstack/react-query";

/** The least time between two reads of one query that live events ask for. */
export const RefreshSpacingMs = 1_000;

const due = new Map<string, ReturnType<typeof setTimeout>>();
const lastRead = new Map<string, number>();

/**
 * Reads a query again because a live event says it changed — at most once a second per query.
 * Tiering sends an event per host each second: read on every one, a page would cancel its own
 * read in flight again and again and show nothing new. The first event reads at once; those
 * that follow within the second become one read at its end, so the last change is never missed.
 */
export function refreshAfterEvent(queries: Pick<QueryClient, "invalidateQueries">, queryKey: readonly unknown[], now: () => number = Date.now): void {
  const id = JSON.stringify(queryKey);
  if (due.has(id)) {
    return;
  }
  const read = () => {
    due.delete(id);
    lastRead.set(id, now());
    void queries.invalidateQueries({ queryKey });
  };
  const wait = (lastRead.get(id) ?? -Infinity) + RefreshSpacingMs - now();
  if (wait <= 0) {
    read();
  } else {
    due.set(id, setTimeout(read, wait));
  }
}
