import type { ReactNode } from "react";

/** A titled box of the overview, saying when its figures are loading or could not be read. */
export function Card({ title, loading, error, children }: { title: string; loading: boolean; error?: string; children: ReactNode }) {
  return (
    <article className="card" aria-label={title}>
      <h2>{title}</h2>
      {loading && <p role="status">Loading…</p>}
      {error && <p role="alert">{error}</p>}
      {children}
    </article>
  );
}
