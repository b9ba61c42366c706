import { describe, expect, it } from "vitest";
import { emptyDraft, fromRule, isPreviewable, toRequest } from "./rules";

describe("toRequest", () => {
  it("leaves empty fields out and splits lists on commas", () => {
    const request = toRequest({ ...emptyDraft, name: " cold ", targetId: "t1", accessedOlderThanDays: "90", extensions: "pdf, mp4,, " });
    expect(request).toEqual({
      name: "cold",
      enabled: true,
      action: "tier",
      targetId: "t1",
      criteria: { accessedOlderThanDays: 90, minSizeBytes: undefined, extensions: ["pdf", "mp4"], pathGlobs: undefined },
    });
  });

  it("gives an exclude rule no target", () => {
    expect(toRequest({ ...emptyDraft, name: "keep", action: "exclude", targetId: "t1", extensions: "log" }).targetId).toBeUndefined();
  });
});

describe("isPreviewable", () => {
  it("needs a name and a criterion", () => {
    expect(isPreviewable({ ...emptyDraft, name: "cold" })).toBe(false);
    expect(isPreviewable({ ...emptyDraft, accessedOlderThanDays: "30" })).toBe(false);
    expect(isPreviewable({ ...emptyDraft, name: "cold", accessedOlderThanDays: "30" })).toBe(true);
  });
});

describe("fromRule", () => {
  it("keeps what the API takes and drops ids and times", () => {
    // What the API sends may carry more than it takes back: only the known criteria go.
    const criteria = { accessedOlderThanDays: 30, extensions: ["pdf"], isEmpty: false } as unknown as Parameters<typeof fromRule>[0]["criteria"];
    const request = fromRule({ id: "r1", name: "cold", priority: 10, enabled: true, action: "tier", targetId: "t1", criteria });
    expect(JSON.parse(JSON.stringify(request))).toEqual({ name: "cold", priority: 10, enabled: true, action: "tier", targetId: "t1", criteria: { accessedOlderThanDays: 30, extensions: ["pdf"] } });
  });
});
