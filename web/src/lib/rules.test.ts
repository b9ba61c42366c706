import { describe, expect, it } from "vitest";
import { emptyDraft, fromRule, isPreviewable, keptCriteria, sameRuleApartFromOrder, toDraft, toRequest, type Rule } from "./rules";

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

describe("changing a saved rule", () => {
  const saved = {
    id: "r1",
    name: "cold",
    priority: 20,
    enabled: true,
    action: "tier" as const,
    targetId: "t1",
    hostId: "h1",
    criteria: { accessedOlderThanDays: 90, extensions: ["pdf", "mp4"], excludePathGlobs: ["/srv/keep/**"], pathRegex: "\\.pdf$", excludeExtensions: [] },
  };

  it("opens in the editor's fields", () => {
    expect(toDraft(saved)).toEqual({ ...emptyDraft, name: "cold", targetId: "t1", accessedOlderThanDays: "90", extensions: "pdf, mp4" });
    expect(toDraft({ ...saved, enabled: false, action: "exclude", targetId: undefined }).enabled).toBe(false);
  });

  it("names the criteria the editor has no field for, which a change keeps", () => {
    expect(keptCriteria(saved)).toEqual(["excludePathGlobs", "pathRegex"]);
    const request = toRequest({ ...toDraft(saved), accessedOlderThanDays: "", pathGlobs: "/srv/**", enabled: false }, saved);
    expect(request).toEqual({
      name: "cold",
      priority: 20,
      enabled: false,
      action: "tier",
      targetId: "t1",
      hostId: "h1",
      criteria: {
        excludePathGlobs: ["/srv/keep/**"],
        pathRegex: "\\.pdf$",
        excludeExtensions: [],
        accessedOlderThanDays: undefined,
        minSizeBytes: undefined,
        extensions: ["pdf", "mp4"],
        pathGlobs: ["/srv/**"],
      },
    });
  });
});

describe("sameRuleApartFromOrder", () => {
  const shown: Rule = { id: "r1", name: "scratch", priority: 3, enabled: true, action: "exclude", criteria: { extensions: ["tmp"] } };

  it("takes a rule moved in the order for the one shown, and one changed in any other way for another", () => {
    expect(sameRuleApartFromOrder(shown, { ...shown, priority: 1 })).toBe(true);
    expect(sameRuleApartFromOrder(shown, { ...shown, criteria: { extensions: ["tmp", "bak"] } })).toBe(false);
    expect(sameRuleApartFromOrder(shown, { ...shown, enabled: false })).toBe(false);
    expect(sameRuleApartFromOrder(shown, { ...shown, name: "scratch2" })).toBe(false);
  });
});
