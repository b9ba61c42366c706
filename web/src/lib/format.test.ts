import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatMoney, problemMessage } from "./format";

describe("formatBytes", () => {
  it("uses decimal units with three significant digits", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1000)).toBe("1.00 kB");
    expect(formatBytes(65_536)).toBe("65.5 kB");
    expect(formatBytes(3_000_000_000)).toBe("3.00 GB");
    expect(formatBytes(512_000_000_000_000)).toBe("512 TB");
  });

  it("shows a dash for what is not a size", () => {
    expect(formatBytes(-1)).toBe("—");
    expect(formatBytes(Number.NaN)).toBe("—");
  });
});

describe("formatMoney", () => {
  it("formats in the tenant's currency and falls back for an unknown code", () => {
    expect(formatMoney(1234.5, "USD")).toBe("$1,234.50");
    expect(formatMoney(0.1996, "EUR")).toBe("€0.20");
    expect(formatMoney(2, "XXQ")).toMatch(/2\.00/);
  });
});

describe("problemMessage", () => {
  it("prefers the detail, then the first field error, then the title", () => {
    expect(problemMessage({ title: "Not found", detail: "tenant x not found" })).toBe("tenant x not found");
    expect(problemMessage({ title: "The request is not valid", errors: { currency: ["currency is an ISO 4217 code"] } })).toBe("currency is an ISO 4217 code");
    expect(problemMessage({ title: "Forbidden" })).toBe("Forbidden");
  });
});

describe("formatDuration", () => {
  it("says under a minute, minutes, or hours and minutes", () => {
    expect(formatDuration(1)).toBe("under a minute");
    expect(formatDuration(60)).toBe("about 1 min");
    expect(formatDuration(61)).toBe("about 2 min");
    expect(formatDuration(3 * 3600 + 5 * 60)).toBe("about 3 h 5 min");
  });
});
