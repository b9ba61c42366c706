import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { refreshAfterEvent, RefreshSpacingMs } from "./refresh";

describe("refresh after a live event", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("reads at once, then folds a burst into one read at the end of the second", () => {
    const reads: unknown[] = [];
    const queries = { invalidateQueries: (filters: { queryKey?: readonly unknown[] }) => (reads.push(filters.queryKey), Promise.resolve()) };
    const key = ["tier-states", `t-${Math.random()}`];
    refreshAfterEvent(queries as never, key, Date.now);
    expect(reads).toHaveLength(1);
    for (let i = 0; i < 50; i++) {
      vi.advanceTimersByTime(10);
      refreshAfterEvent(queries as never, key, Date.now);
    }
    expect(reads).toHaveLength(1);
    vi.advanceTimersByTime(RefreshSpacingMs);
    // The last event of the burst is not lost: one read after it.
    expect(reads).toHaveLength(2);
    vi.advanceTimersByTime(5 * RefreshSpacingMs);
    expect(reads).toHaveLength(2);
  });

  it("keeps each query's pace apart", () => {
    const reads: unknown[] = [];
    const queries = { invalidateQueries: (filters: { queryKey?: readonly unknown[] }) => (reads.push(filters.queryKey), Promise.resolve()) };
    refreshAfterEvent(queries as never, ["jobs", "a"], Date.now);
    refreshAfterEvent(queries as never, ["jobs", "b"], Date.now);
    expect(reads).toEqual([["jobs", "a"], ["jobs", "b"]]);
  });
});
