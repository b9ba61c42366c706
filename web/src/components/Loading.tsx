import type { UseQueryResult } from "@tanstack/react-query";

/** What a list says while it loads, when it could not be read, and when it is empty. */
export function QueryState<T>({ query, what, empty }: { query: UseQueryResult<T>; what: string; empty?: (data: T) => boolean; children?: never }) {
  if (query.isPending) {
    return <p role="status">Loading {what}…</p>;
  }
  if (query.isError) {
    return <p role="alert">The {what} could not be read: {query.error.message}</p>;
  }
  return empty?.(query.data) ? <p data-testid="empty">No {what} yet.</p> : null;
}
