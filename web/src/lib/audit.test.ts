import { describe, expect, it } from "vitest";
import { auditQuery, NoAuditFilters } from "./audit";

describe("audit query", () => {
  it("leaves out empty filters", () => {
    expect(auditQuery(NoAuditFilters, 2, 50)).toBe("page=2&pageSize=50");
  });

  it("includes the whole last day and trims what was typed", () => {
    const query = new URLSearchParams(auditQuery({ ...NoAuditFilters, from: "2026-03-01", to: "2026-03-01", action: " recall " }, 1, 50));
    expect(new Date(query.get("to")!).getTime() - new Date(query.get("from")!).getTime()).toBe(24 * 3600 * 1000);
    expect(query.get("action")).toBe("recall");
  });
});
