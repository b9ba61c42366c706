import { useEffect, useState, type FormEvent } from "react";
import { useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, apiRevised, ApiError, isStale, type Session } from "../lib/api";
import { failureMessage, formatBytes, formatMoney } from "../lib/format";
import { canManage } from "../lib/roles";
import { useFieldErrors } from "../components/FieldErrors";
import { SortableList } from "../components/SortableList";
import { emptyDraft, fromRule, isPreviewable, keptCriteria, sameRuleApartFromOrder, toDraft, toRequest, type Rule, type RuleDraft, type WhatIfReport } from "../lib/rules";

/** A rule changed by another admin since the page showed it: not deleted. */
class StaleRule extends Error {}

interface Target {
  id: string;
  name: string;
  kind: string;
}

/** How long typing pauses before the preview asks the API. */
const PreviewDelayMs = 400;

/** A saved rule open in the editor, at the revision read: saving it replaces it only if nobody changed it meanwhile. */
interface OpenRule {
  rule: Rule;
  revision: string | null;
}

/**
 * The rules in evaluation order, and (for those who may change them) an editor for a new rule or
 * a saved one, whose draft is previewed while it is typed: what the saved rules with the draft
 * (after them, or in the changed rule's place) would select, and save, and what no rule matches.
 * The API's validation messages show beside the field they are about.
 */
export function Rules({ session }: { session: Session }) {
  const { tenantId = "" } = useParams();
  const queries = useQueryClient();
  const manage = canManage(session);
  const rules = useQuery({ queryKey: ["rules", tenantId], queryFn: () => api<Rule[]>(`/tenants/${tenantId}/rules`, {}, session) });
  const targets = useQuery({ queryKey: ["targets", tenantId], queryFn: () => api<{ items: Target[] }>(`/tenants/${tenantId}/targets?pageSize=200`, {}, session) });
  const [draft, setDraft] = useState<RuleDraft>(emptyDraft);
  const [open, setOpen] = useState<OpenRule | null>(null);
  const { refused, clear, problem } = useFieldErrors();
  const [listProblem, setListProblem] = useState<string | null>(null);
  const [preview, setPreview] = useState<WhatIfReport | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);

  // The preview: the saved rules and, when there is one, the draft after them.
  useEffect(() => {
    if (!rules.data) {
      return;
    }
    const withDraft = manage && isPreviewable(draft);
    const saved = rules.data.map((rule) => (withDraft && rule.id === open?.rule.id ? toRequest(draft, open.rule) : fromRule(rule)));
    const last = Math.max(0, ...rules.data.map((rule) => rule.priority));
    const body = { rules: withDraft && !open ? [...saved, { ...toRequest(draft), priority: last + 10 }] : saved };
    let current = true;
    const timer = setTimeout(async () => {
      try {
        const report = await api<WhatIfReport>(`/tenants/${tenantId}/what-if`, { method: "POST", body: JSON.stringify(body) }, session);
        if (current) {
          setPreview(report);
          setPreviewError(null);
        }
      } catch (error) {
        if (current) {
          setPreviewError(error instanceof ApiError ? error.message : "The preview could not be computed");
        }
      }
    }, PreviewDelayMs);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [rules.data, draft, open, manage, tenantId, session]);

  const refresh = () => queries.invalidateQueries({ queryKey: ["rules", tenantId] });
  const close = () => {
    setOpen(null);
    setDraft(emptyDraft);
    clear();
  };
  const save = useMutation({
    mutationFn: async (): Promise<unknown> =>
      open
        ? // No priority: the rule keeps its place in the order, whatever a reorder made of it.
          apiRevised<Rule>(`/tenants/${tenantId}/rules/${open.rule.id}`, { method: "PUT", body: JSON.stringify({ ...toRequest(draft, open.rule), priority: undefined }) }, session, open.revision)
        : api<Rule>(`/tenants/${tenantId}/rules`, { method: "POST", body: JSON.stringify(toRequest(draft)) }, session),
    onSuccess: () => {
      close();
      void refresh();
    },
    onError: (error) =>
      refused(isStale(error) ? new Error("Another admin changed this rule since you opened it: cancel, and change it again from what it is now.") : error),
  });
  const edit = useMutation({
    mutationFn: (id: string) => apiRevised<Rule>(`/tenants/${tenantId}/rules/${id}`, {}, session),
    onSuccess: (read) => {
      clear();
      setOpen({ rule: read.value, revision: read.revision });
      setDraft(toDraft(read.value));
    },
    onError: refused,
  });
  const reorder = useMutation({
    mutationFn: (ids: string[]) => api<Rule[]>(`/tenants/${tenantId}/rules/reorder`, { method: "POST", body: JSON.stringify({ ruleIds: ids }) }, session),
    // The list shows the new order at once; the API's answer (or a fresh read after a refusal) settles it.
    onMutate: (ids) => {
      const byId = new Map((rules.data ?? []).map((rule) => [rule.id, rule]));
      queries.setQueryData(["rules", tenantId], ids.map((id) => byId.get(id)).filter((rule) => rule !== undefined));
    },
    onSettled: () => void refresh(),
  });
  const remove = useMutation({
    // Deleted only as shown: read again first, and deleted at that revision (If-Match), so a rule another admin changed meanwhile is not lost unseen.
    mutationFn: async (shown: Rule) => {
      const now = await apiRevised<Rule>(`/tenants/${tenantId}/rules/${shown.id}`, {}, session);
      if (!sameRuleApartFromOrder(shown, now.value)) {
        throw new StaleRule(`${shown.name} changed`);
      }
      return api<void>(`/tenants/${tenantId}/rules/${shown.id}`, { method: "DELETE", headers: now.revision ? { "If-Match": now.revision } : {} }, session);
    },
    onSuccess: () => {
      setListProblem(null);
      void refresh();
    },
    onError: (error, shown) => {
      setListProblem(
        error instanceof StaleRule || isStale(error)
          ? `Another admin changed ${shown.name} since this page showed it; it is shown as it is now, and was not deleted.`
          : failureMessage(error),
      );
      void refresh();
    },
  });

  const move = (index: number, by: number) => {
    const ids = (rules.data ?? []).map((rule) => rule.id);
    const [moved] = ids.splice(index, 1);
    ids.splice(index + by, 0, moved);
    reorder.mutate(ids);
  };
  const targetName = (id?: string) => targets.data?.items.find((target) => target.id === id)?.name ?? "—";
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  const field = (name: Exclude<keyof RuleDraft, "enabled">) => ({
    value: draft[name],
    onChange: (event: { target: { value: string } }) => setDraft({ ...draft, [name]: event.target.value }),
  });

  return (
    <section aria-labelledby="rules-title">
      <h1 id="rules-title">Rules</h1>
      <p>Evaluated in this order; the first rule a file matches decides.</p>
      {rules.isPending && <p role="status">Loading rules…</p>}
      {rules.isError && <p role="alert">{rules.error.message}</p>}
      {listProblem && <p role="alert">{listProblem}</p>}
      {rules.data && rules.data.length === 0 && <p>No rule yet: nothing is tiered.</p>}
      {rules.data && rules.data.length > 0 && (
        <SortableList
          items={rules.data}
          label="Rules in order"
          nameOf={(rule) => rule.name}
          disabled={!manage || reorder.isPending}
          onReorder={(ids) => reorder.mutate(ids)}
          render={(rule, index, handle) => (
            <>
              {manage && handle} <strong>{rule.name}</strong> — {rule.action === "tier" ? `tier to ${targetName(rule.targetId)}` : "keep on tier 1"}
              {!rule.enabled && " (disabled)"}
              {manage && (
                <span className="actions">
                  <button type="button" aria-label={`Move ${rule.name} up`} disabled={index === 0 || reorder.isPending} onClick={() => move(index, -1)}>
                    ↑
                  </button>
                  <button type="button" aria-label={`Move ${rule.name} down`} disabled={index === rules.data.length - 1 || reorder.isPending} onClick={() => move(index, 1)}>
                    ↓
                  </button>
                  <button type="button" aria-label={`Change ${rule.name}`} disabled={edit.isPending} onClick={() => edit.mutate(rule.id)}>
                    Change
                  </button>
                  <button type="button" aria-label={`Delete ${rule.name}`} disabled={remove.isPending} onClick={() => remove.mutate(rule)}>
                    Delete
                  </button>
                </span>
              )}
            </>
          )}
        />
      )}

      {manage && (
        <form className="editor" onSubmit={submit} aria-label={open ? `Change ${open.rule.name}` : "New rule"}>
          <h2>{open ? `Change ${open.rule.name}` : "New rule"}</h2>
          <label>
            Name <input aria-label="Name" {...field("name")} />
            {problem("name")}
          </label>
          <label className="inline">
            <input type="checkbox" aria-label="Enabled" checked={draft.enabled} onChange={(event) => setDraft({ ...draft, enabled: event.target.checked })} /> Enabled
          </label>
          <label>
            Action{" "}
            <select aria-label="Action" {...field("action")}>
              <option value="tier">Tier to a target</option>
              <option value="exclude">Keep on tier 1</option>
            </select>
          </label>
          {draft.action === "tier" && (
            <label>
              Target{" "}
              <select aria-label="Target" {...field("targetId")}>
                <option value="">Choose a target</option>
                {(targets.data?.items ?? []).map((target) => (
                  <option key={target.id} value={target.id}>
                    {target.name}
                  </option>
                ))}
              </select>
              {problem("targetId")}
            </label>
          )}
          <label>
            Not read for (days) <input aria-label="Not read for (days)" inputMode="numeric" {...field("accessedOlderThanDays")} />
            {problem("criteria.accessedOlderThanDays")}
          </label>
          <label>
            Smallest file (bytes) <input aria-label="Smallest file (bytes)" inputMode="numeric" {...field("minSizeBytes")} />
            {problem("criteria.minSizeBytes")}
          </label>
          <label>
            Extensions (comma-separated) <input aria-label="Extensions (comma-separated)" {...field("extensions")} />
            {problem("criteria.extensions")}
          </label>
          <label>
            Path globs (comma-separated) <input aria-label="Path globs (comma-separated)" {...field("pathGlobs")} />
            {problem("criteria.pathGlobs")}
          </label>
          {open && keptCriteria(open.rule).length > 0 && (
            <p className="hint">Kept as they are (set through the API): {keptCriteria(open.rule).join(", ")}.</p>
          )}
          {problem("criteria")}
          {problem("")}
          <button type="submit" disabled={save.isPending}>
            {open ? "Save rule" : "Add rule"}
          </button>
          {open && (
            <button type="button" onClick={close}>
              Cancel
            </button>
          )}
        </form>
      )}

      <h2>Preview</h2>
      {previewError && <p role="alert">{previewError}</p>}
      {!preview && !previewError && <p role="status">Evaluating…</p>}
      {preview && (
        <div data-testid="preview">
          <p>
            {preview.filesEvaluated} files evaluated; tiering what the rules select would save{" "}
            <strong data-testid="preview-savings">{formatMoney(preview.monthlySavings, preview.currency)}</strong> a month.
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Files</th>
                <th scope="col">Bytes</th>
                <th scope="col">Savings a month</th>
                <th scope="col">For example</th>
              </tr>
            </thead>
            <tbody>
              {preview.rules.map((rule) => (
                <tr key={rule.ruleId} data-testid={`preview-${rule.name}`}>
                  <td>
                    {rule.name}
                    {rule.heldBecause && <span className="hint"> (held: {rule.heldBecause})</span>}
                  </td>
                  <td>{rule.files}</td>
                  <td>{formatBytes(rule.bytes)}</td>
                  <td>{formatMoney(rule.monthlySavings, preview.currency)}</td>
                  <td>{rule.samplePaths.slice(0, 3).join(", ")}</td>
                </tr>
              ))}
              <tr data-testid="preview-unmatched">
                <td>Matched no rule</td>
                <td>{preview.unmatched.files}</td>
                <td>{formatBytes(preview.unmatched.bytes)}</td>
                <td>—</td>
                <td>{preview.unmatched.samplePaths.slice(0, 3).join(", ")}</td>
              </tr>
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
