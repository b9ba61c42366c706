import { useEffect, useState, type FormEvent } from "react";
import { useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, type Session } from "../lib/api";
import { formatBytes, formatMoney } from "../lib/format";
import { canManage } from "../lib/roles";
import { useFieldErrors } from "../components/FieldErrors";
import { SortableList } from "../components/SortableList";
import { emptyDraft, fromRule, isPreviewable, toRequest, type Rule, type RuleDraft, type WhatIfReport } from "../lib/rules";

interface Target {
  id: string;
  name: string;
  kind: string;
}

/** How long typing pauses before the preview asks the API. */
const PreviewDelayMs = 400;

/**
 * The rules in evaluation order, and (for those who may change them) an editor whose draft is
 * previewed while it is typed: what the saved rules and the draft would select, and save, and
 * what no rule matches. The API's validation messages show beside the field they are about.
 */
export function Rules({ session }: { session: Session }) {
  const { tenantId = "" } = useParams();
  const queries = useQueryClient();
  const manage = canManage(session);
  const rules = useQuery({ queryKey: ["rules", tenantId], queryFn: () => api<Rule[]>(`/tenants/${tenantId}/rules`, {}, session) });
  const targets = useQuery({ queryKey: ["targets", tenantId], queryFn: () => api<{ items: Target[] }>(`/tenants/${tenantId}/targets?pageSize=200`, {}, session) });
  const [draft, setDraft] = useState<RuleDraft>(emptyDraft);
  const { refused, clear, problem } = useFieldErrors();
  const [preview, setPreview] = useState<WhatIfReport | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);

  // The preview: the saved rules and, when there is one, the draft after them.
  useEffect(() => {
    if (!rules.data) {
      return;
    }
    const saved = rules.data.map(fromRule);
    const withDraft = manage && isPreviewable(draft);
    const last = Math.max(0, ...rules.data.map((rule) => rule.priority));
    const body = { rules: withDraft ? [...saved, { ...toRequest(draft), priority: last + 10 }] : saved };
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
  }, [rules.data, draft, manage, tenantId, session]);

  const refresh = () => queries.invalidateQueries({ queryKey: ["rules", tenantId] });
  const add = useMutation({
    mutationFn: () => api<Rule>(`/tenants/${tenantId}/rules`, { method: "POST", body: JSON.stringify(toRequest(draft)) }, session),
    onSuccess: () => {
      setDraft(emptyDraft);
      clear();
      void refresh();
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
    mutationFn: (id: string) => api<Rule>(`/tenants/${tenantId}/rules/${id}`, { method: "DELETE" }, session),
    onSuccess: () => void refresh(),
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
    add.mutate();
  };
  const field = (name: keyof RuleDraft) => ({
    value: draft[name],
    onChange: (event: { target: { value: string } }) => setDraft({ ...draft, [name]: event.target.value }),
  });

  return (
    <section aria-labelledby="rules-title">
      <h1 id="rules-title">Rules</h1>
      <p>Evaluated in this order; the first rule a file matches decides.</p>
      {rules.isPending && <p role="status">Loading rules…</p>}
      {rules.isError && <p role="alert">{rules.error.message}</p>}
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
                  <button type="button" aria-label={`Delete ${rule.name}`} disabled={remove.isPending} onClick={() => remove.mutate(rule.id)}>
                    Delete
                  </button>
                </span>
              )}
            </>
          )}
        />
      )}

      {manage && (
        <form className="editor" onSubmit={submit} aria-label="New rule">
          <h2>New rule</h2>
          <label>
            Name <input aria-label="Name" {...field("name")} />
            {problem("name")}
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
          {problem("criteria")}
          {problem("")}
          <button type="submit" disabled={add.isPending}>
            Add rule
          </button>
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
