/** A rule's criteria, as the API reads and writes them. */
export interface RuleCriteria {
  pathGlobs?: string[];
  excludePathGlobs?: string[];
  pathRegex?: string;
  excludePathRegex?: string;
  minSizeBytes?: number;
  maxSizeBytes?: number;
  accessedOlderThanDays?: number;
  modifiedOlderThanDays?: number;
  extensions?: string[];
  excludeExtensions?: string[];
}

export interface Rule {
  id: string;
  name: string;
  priority: number;
  enabled: boolean;
  action: "tier" | "exclude";
  targetId?: string;
  hostId?: string;
  criteria: RuleCriteria;
}

/** What the API takes to create a rule or to preview one (no ids, no times). */
export interface RuleRequest {
  name: string;
  priority?: number;
  enabled: boolean;
  action: "tier" | "exclude";
  targetId?: string;
  hostId?: string;
  criteria: RuleCriteria;
}

export interface WhatIfRule {
  ruleId: string;
  name: string;
  action: string;
  files: number;
  bytes: number;
  samplePaths: string[];
  monthlySavings: number;
  heldBecause?: string;
}

export interface WhatIfReport {
  currency: string;
  filesEvaluated: number;
  monthlySavings: number;
  rules: WhatIfRule[];
  unmatched: { files: number; bytes: number; samplePaths: string[] };
}

/** The editor's fields, as typed. */
export interface RuleDraft {
  name: string;
  enabled: boolean;
  action: "tier" | "exclude";
  targetId: string;
  accessedOlderThanDays: string;
  minSizeBytes: string;
  extensions: string;
  pathGlobs: string;
}

export const emptyDraft: RuleDraft = { name: "", enabled: true, action: "tier", targetId: "", accessedOlderThanDays: "", minSizeBytes: "", extensions: "", pathGlobs: "" };

/** The criteria the editor has fields for; a saved rule's other criteria are kept as they are when it is changed. */
const EditedCriteria = ["accessedOlderThanDays", "minSizeBytes", "extensions", "pathGlobs"] as const;

/** A saved rule in the editor's fields. */
export function toDraft(rule: Rule): RuleDraft {
  const c = rule.criteria;
  return {
    name: rule.name,
    enabled: rule.enabled,
    action: rule.action,
    targetId: rule.targetId ?? "",
    accessedOlderThanDays: c.accessedOlderThanDays?.toString() ?? "",
    minSizeBytes: c.minSizeBytes?.toString() ?? "",
    extensions: (c.extensions ?? []).join(", "),
    pathGlobs: (c.pathGlobs ?? []).join(", "),
  };
}

/** The criteria of a saved rule the editor does not show (set through the API), which a change keeps. */
export function keptCriteria(rule: Rule): string[] {
  const shown: readonly string[] = EditedCriteria;
  return Object.entries(fromRule(rule).criteria)
    .filter(([name, value]) => !shown.includes(name) && value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0))
    .map(([name]) => name);
}

function list(text: string): string[] | undefined {
  const items = text.split(",").map((item) => item.trim()).filter((item) => item.length > 0);
  return items.length > 0 ? items : undefined;
}

function whole(text: string): number | undefined {
  return text.trim() === "" ? undefined : Number(text);
}

/**
 * The draft as the API reads it: empty fields left out, lists split on commas. Changing a saved
 * rule (`saved`), its priority, host and the criteria the editor does not show stay as they were.
 */
export function toRequest(draft: RuleDraft, saved?: Rule): RuleRequest {
  const kept = saved ? fromRule(saved) : undefined;
  return {
    name: draft.name.trim(),
    priority: kept?.priority,
    enabled: draft.enabled,
    action: draft.action,
    targetId: draft.action === "tier" && draft.targetId ? draft.targetId : undefined,
    hostId: kept?.hostId,
    criteria: {
      ...kept?.criteria,
      accessedOlderThanDays: whole(draft.accessedOlderThanDays),
      minSizeBytes: whole(draft.minSizeBytes),
      extensions: list(draft.extensions),
      pathGlobs: list(draft.pathGlobs),
    },
  };
}

/** A saved rule as a request, so a preview can evaluate the saved rules with a draft after them. */
export function fromRule(rule: Rule): RuleRequest {
  const c = rule.criteria;
  const criteria: RuleCriteria = {
    pathGlobs: c.pathGlobs,
    excludePathGlobs: c.excludePathGlobs,
    pathRegex: c.pathRegex,
    excludePathRegex: c.excludePathRegex,
    minSizeBytes: c.minSizeBytes,
    maxSizeBytes: c.maxSizeBytes,
    accessedOlderThanDays: c.accessedOlderThanDays,
    modifiedOlderThanDays: c.modifiedOlderThanDays,
    extensions: c.extensions,
    excludeExtensions: c.excludeExtensions,
  };
  return { name: rule.name, priority: rule.priority, enabled: rule.enabled, action: rule.action, targetId: rule.targetId, hostId: rule.hostId, criteria };
}

/** Whether the draft is worth previewing: named, with at least one criterion. */
export function isPreviewable(draft: RuleDraft): boolean {
  const request = toRequest(draft);
  return request.name.length > 0 && Object.values(request.criteria).some((value) => value !== undefined);
}

/**
 * Whether a rule read now is the one a list showed, apart from its place in the order (a reorder by
 * another admin does not make deleting it a different decision; any other change does).
 */
export function sameRuleApartFromOrder(shown: Rule, now: Rule): boolean {
  return JSON.stringify({ ...shown, priority: 0 }) === JSON.stringify({ ...now, priority: 0 });
}
