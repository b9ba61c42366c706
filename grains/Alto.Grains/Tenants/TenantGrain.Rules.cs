using Alto.Audit;
using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Planning;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tenants;
using Alto.GrainInterfaces.Tiers;
using Alto.Grains.Planning;
using Alto.Rules;

namespace Alto.Grains.Tenants;

/// <summary>The tenant's rules: held in its state, validated here whatever the caller checked, mirrored to alto.rule.</summary>
public sealed partial class TenantGrain
{
    public const int MaxRules = 500;
    public const int MaxPriority = 1_000_000;
    private const int PriorityStep = 10;

    public Task<RuleInfo[]?> ListRulesAsync() =>
        Task.FromResult(tenant.State.Exists ? OrderedRules().ToArray() : null);

    public Task<RuleInfo?> GetRuleAsync(Guid ruleId) =>
        Task.FromResult(tenant.State.Exists ? tenant.State.Rules.GetValueOrDefault(ruleId) : null);

    /// <summary>A target with its credentials unsealed, for an agent's job or session (over its authenticated stream only).</summary>
    public async Task<AgentTarget?> GetTargetForAgentAsync(Guid targetId) =>
        tenant.State.Targets.TryGetValue(targetId, out var target) && target.Enabled ? await GetTargetForRecallAsync(targetId) : null;

    public async Task<AgentTarget?> GetTargetForRecallAsync(Guid targetId) =>
        tenant.State.Targets.TryGetValue(targetId, out var target) && tenant.State.Status == TenantStatus.Active
            ? new AgentTarget(target.Id, target.Kind, target.Settings, await UnsealAsync(target))
            : null;

    public async Task<RecoveryTarget[]> ListRecoveryTargetsAsync()
    {
        var targets = new List<RecoveryTarget>();
        foreach (var target in tenant.State.Targets.Values.OrderBy(target => target.Name, StringComparer.OrdinalIgnoreCase))
        {
            // Credentials from before sealing are cleared on activation; sealed here all the same, so none leaves in the clear.
            var sealedCredentials = target.SealedCredentials ?? (target.Credentials is { } legacy ? await SealAsync(legacy) : null);
            targets.Add(new RecoveryTarget(target.Id, target.Name, target.Kind, target.Settings, sealedCredentials));
        }
        return [.. targets];
    }

    public Task<StorageTargetInfo[]> ListTargetsAsync() =>
        Task.FromResult(tenant.State.Targets.Values.Select(ToInfo).ToArray());

    public async Task<CommandResult<RuleInfo>> AddRuleAsync(Guid ruleId, RuleDefinition definition)
    {
        if (TenantRefusal<RuleInfo>() is { } refusal)
        {
            return refusal;
        }
        if (tenant.State.Rules.ContainsKey(ruleId))
        {
            return CommandResult<RuleInfo>.Conflict($"rule {ruleId} already exists");
        }
        if (tenant.State.Rules.Count >= MaxRules)
        {
            return CommandResult<RuleInfo>.Conflict($"a tenant holds at most {MaxRules} rules");
        }
        var priority = definition.Priority ?? NextFreePriority();
        if (await RuleRefusalAsync(definition, priority, exceptId: null) is { } invalid)
        {
            return invalid;
        }
        var now = time.GetUtcNow();
        var rule = new RuleInfo(ruleId, Id, definition.Name, priority, definition.Enabled, definition.Action,
            definition.TargetId, definition.HostId, definition.Criteria, now, now);
        await ChangeRulesAsync(AuditOf("rule.created", "rule", ruleId.ToString(), null, rule), rules => rules[ruleId] = rule);
        return CommandResult<RuleInfo>.Ok(rule);
    }

    public async Task<CommandResult<RuleInfo>> UpdateRuleAsync(Guid ruleId, RuleDefinition definition, string[]? ifMatch = null)
    {
        if (TenantRefusal<RuleInfo>() is { } refusal)
        {
            return refusal;
        }
        if (!tenant.State.Rules.TryGetValue(ruleId, out var existing))
        {
            return CommandResult<RuleInfo>.NotFound($"rule {ruleId} not found");
        }
        if (Revision.Stale(existing, ifMatch, $"rule '{existing.Name}'") is { } stale)
        {
            return CommandResult<RuleInfo>.Stale(stale);
        }
        var priority = definition.Priority ?? existing.Priority;
        if (await RuleRefusalAsync(definition, priority, exceptId: ruleId) is { } invalid)
        {
            return invalid;
        }
        var rule = existing with
        {
            Name = definition.Name,
            Priority = priority,
            Enabled = definition.Enabled,
            Action = definition.Action,
            TargetId = definition.TargetId,
            HostId = definition.HostId,
            Criteria = definition.Criteria,
            UpdatedAt = time.GetUtcNow(),
        };
        await ChangeRulesAsync(AuditOf("rule.updated", "rule", ruleId.ToString(), existing, rule), rules => rules[ruleId] = rule);
        return CommandResult<RuleInfo>.Ok(rule);
    }

    public async Task<CommandResult<RuleInfo>> DeleteRuleAsync(Guid ruleId, string[]? ifMatch = null)
    {
        if (TenantRefusal<RuleInfo>() is { } refusal)
        {
            return refusal;
        }
        if (!tenant.State.Rules.TryGetValue(ruleId, out var existing))
        {
            return CommandResult<RuleInfo>.NotFound($"rule {ruleId} not found");
        }
        if (Revision.Stale(existing, ifMatch, $"rule '{existing.Name}'") is { } stale)
        {
            return CommandResult<RuleInfo>.Stale(stale);
        }
        // Files it planned stay planned until the next plan moves them to another rule or drops them.
        await ChangeRulesAsync(AuditOf("rule.deleted", "rule", ruleId.ToString(), existing, null), rules => rules.Remove(ruleId));
        return CommandResult<RuleInfo>.Ok(existing);
    }

    /// <summary>Puts the rules in the given order (every rule exactly once), spacing priorities by ten.</summary>
    public async Task<CommandResult<RuleInfo[]>> ReorderRulesAsync(Guid[] ruleIds)
    {
        if (TenantRefusal<RuleInfo[]>() is { } refusal)
        {
            return refusal;
        }
        var rules = tenant.State.Rules;
        if (ruleIds.Distinct().Count() != ruleIds.Length)
        {
            return CommandResult<RuleInfo[]>.Invalid("ruleIds", "ruleIds lists a rule more than once");
        }
        var unknown = ruleIds.Where(id => !rules.ContainsKey(id)).ToArray();
        if (unknown.Length > 0)
        {
            return CommandResult<RuleInfo[]>.Invalid("ruleIds", $"rule {unknown[0]} is not a rule of this tenant");
        }
        if (ruleIds.Length != rules.Count)
        {
            return CommandResult<RuleInfo[]>.Invalid("ruleIds", $"ruleIds must list all {rules.Count} rules of the tenant (got {ruleIds.Length})");
        }
        var now = time.GetUtcNow();
        var order = OrderedRules().Select(rule => rule.Id).ToArray();
        await ChangeRulesAsync(AuditOf("rule.reordered", "tenant", Id.ToString(), order, ruleIds), all =>
        {
            for (var i = 0; i < ruleIds.Length; i++)
            {
                var priority = (i + 1) * PriorityStep;
                if (all[ruleIds[i]].Priority != priority)
                {
                    all[ruleIds[i]] = all[ruleIds[i]] with { Priority = priority, UpdatedAt = now };
                }
            }
        });
        return CommandResult<RuleInfo[]>.Ok(OrderedRules().ToArray());
    }

    public async Task<CommandResult<PlanSummary>> PlanAsync(bool dryRun)
    {
        if (TenantRefusal<PlanSummary>() is { } refusal)
        {
            return refusal;
        }
        // The tenant's side goes with the call: the hosts' inventory grains need not call back.
        return CommandResult<PlanSummary>.Ok(await PlanHostsAsync(dryRun, [.. OrderedRules()], time.GetUtcNow()));
    }

    public async Task<CommandResult<PlanSummary>> WhatIfAsync(RuleDefinition[]? draft, Guid? hostId)
    {
        if (TenantRefusal<PlanSummary>() is { } refusal)
        {
            return refusal;
        }
        var now = time.GetUtcNow();
        var rules = draft is null ? CommandResult<RuleInfo[]>.Ok([.. OrderedRules()]) : await DraftRulesAsync(draft, now);
        if (rules.Error is { } invalid)
        {
            return new CommandResult<PlanSummary>(null, invalid);
        }
        if (hostId is { } one)
        {
            var policy = new TenantPlanPolicy(rules.Value!, await ListTargetsAsync(), ToInfo());
            return await GrainFactory.GetGrain<IHostInventoryGrain>(one.ToString()).PlanWithAsync(dryRun: true, policy);
        }
        var merged = await PlanHostsAsync(dryRun: true, rules.Value!, now);
        // With no host to plan, the preview still lists every rule of the set, each selecting nothing.
        return CommandResult<PlanSummary>.Ok(merged.Hosts.Length > 0 ? merged : merged with
        {
            Rules = [.. rules.Value!.Select(rule => new RulePlan(rule.Id, rule.Name, rule.Priority, rule.Action, rule.TargetId, null, 0, 0, []))],
        });
    }

    /// <summary>Plans (or previews) every plannable host side by side with <paramref name="rules"/>, and adds the hosts' plans up.</summary>
    private async Task<PlanSummary> PlanHostsAsync(bool dryRun, RuleInfo[] rules, DateTimeOffset now)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var hostIds = await rows.ListPlannableHostsAsync(Id);
        var policy = new TenantPlanPolicy(rules, await ListTargetsAsync(), ToInfo());
        var results = await Task.WhenAll(hostIds.Select(hostId => GrainFactory.GetGrain<IHostInventoryGrain>(hostId.ToString()).PlanWithAsync(dryRun, policy)));
        var plans = results.Where(result => result.Value is not null).Select(result => result.Value!).ToArray();
        return PlanMerge.Tenant(Id, dryRun, now, plans, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>
    /// A draft rule set as rules, each checked as a saved rule is and against the others of the
    /// draft (not the saved ones, which it replaces). Draft rule n (from 1, in the order given) has
    /// the id 00000000-0000-0000-0000-00000000000n; a rule without a priority takes 10 × n.
    /// </summary>
    private async Task<CommandResult<RuleInfo[]>> DraftRulesAsync(RuleDefinition[] draft, DateTimeOffset now)
    {
        if (draft.Length > MaxRules)
        {
            return CommandResult<RuleInfo[]>.Invalid("rules", $"a rule set holds at most {MaxRules} rules (got {draft.Length})");
        }
        var rules = new List<RuleInfo>(draft.Length);
        for (var i = 0; i < draft.Length; i++)
        {
            var field = $"rules[{i}]";
            if (draft[i] is not { } definition)
            {
                return CommandResult<RuleInfo[]>.Invalid(field, "a rule is required");
            }
            var priority = definition.Priority ?? (i + 1) * PriorityStep;
            if (await DefinitionRefusalAsync(definition, priority) is { Error: { } error })
            {
                return CommandResult<RuleInfo[]>.Invalid(error.Field is null ? field : $"{field}.{error.Field}", error.Message);
            }
            if (rules.FirstOrDefault(other => other.Priority == priority) is { } taken)
            {
                return CommandResult<RuleInfo[]>.Invalid($"{field}.priority", $"priority {priority} is taken by draft rule '{taken.Name}'");
            }
            if (rules.Any(other => string.Equals(other.Name, definition.Name, StringComparison.OrdinalIgnoreCase)))
            {
                return CommandResult<RuleInfo[]>.Invalid($"{field}.name", $"the draft names two rules '{definition.Name}'");
            }
            rules.Add(new RuleInfo(DraftRuleId(i), Id, definition.Name, priority, definition.Enabled, definition.Action,
                definition.TargetId, definition.HostId, definition.Criteria, now, now));
        }
        return CommandResult<RuleInfo[]>.Ok([.. rules.OrderBy(rule => rule.Priority)]);
    }

    public static Guid DraftRuleId(int index) =>
        Guid.Parse(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"00000000-0000-0000-0000-{index + 1:x12}"));

    private IEnumerable<RuleInfo> OrderedRules() => tenant.State.Rules.Values.OrderBy(rule => rule.Priority).ThenBy(rule => rule.Id);

    private int NextFreePriority() =>
        tenant.State.Rules.Count == 0 ? PriorityStep : tenant.State.Rules.Values.Max(rule => rule.Priority) / PriorityStep * PriorityStep + PriorityStep;

    /// <summary>Everything that makes a rule unusable, checked against this tenant's own targets, hosts and other rules.</summary>
    private async Task<CommandResult<RuleInfo>?> RuleRefusalAsync(RuleDefinition rule, int priority, Guid? exceptId)
    {
        if (await DefinitionRefusalAsync(rule, priority) is { } invalid)
        {
            return invalid;
        }
        if (tenant.State.Rules.Values.FirstOrDefault(other => other.Id != exceptId && other.Priority == priority) is { } taken)
        {
            return CommandResult<RuleInfo>.Conflict($"priority {priority} is taken by rule '{taken.Name}'; choose another or reorder the rules");
        }
        if (tenant.State.Rules.Values.Any(other => other.Id != exceptId && string.Equals(other.Name, rule.Name, StringComparison.OrdinalIgnoreCase)))
        {
            return CommandResult<RuleInfo>.Conflict($"a rule named '{rule.Name}' already exists in this tenant");
        }
        return null;
    }

    /// <summary>What makes one rule unusable on its own: its name, criteria and priority, and a target or host not this tenant's.</summary>
    private async Task<CommandResult<RuleInfo>?> DefinitionRefusalAsync(RuleDefinition rule, int priority)
    {
        if (string.IsNullOrWhiteSpace(rule.Name) || rule.Name.Length > 100)
        {
            return CommandResult<RuleInfo>.Invalid("name", "name is required, at most 100 characters");
        }
        if (RuleCriteriaCheck.Problems(rule.Criteria).FirstOrDefault() is { } problem)
        {
            return CommandResult<RuleInfo>.Invalid(problem.Field, problem.Message);
        }
        if (priority is < 1 or > MaxPriority)
        {
            return CommandResult<RuleInfo>.Invalid("priority", $"priority must be between 1 and {MaxPriority} (got {priority})");
        }
        if (rule.Action == RuleAction.Tier)
        {
            if (rule.TargetId is not { } targetId)
            {
                return CommandResult<RuleInfo>.Invalid("targetId", "a tier rule needs the targetId of a storage target");
            }
            if (!tenant.State.Targets.TryGetValue(targetId, out var target))
            {
                return CommandResult<RuleInfo>.Invalid("targetId", $"storage target {targetId} is not a target of this tenant");
            }
            if (!target.Enabled)
            {
                return CommandResult<RuleInfo>.Invalid("targetId", $"storage target '{target.Name}' is disabled");
            }
        }
        else if (rule.TargetId is not null)
        {
            return CommandResult<RuleInfo>.Invalid("targetId", "an exclude rule keeps files on tier 1 and takes no targetId");
        }
        if (rule.HostId is { } hostId && (await GrainFactory.GetGrain<IHostGrain>(hostId.ToString()).GetAsync())?.TenantId != Id)
        {
            return CommandResult<RuleInfo>.Invalid("hostId", $"host {hostId} is not a host of this tenant");
        }
        return null;
    }

    /// <summary>Persists a changed copy of the rules with the change's audit entry, then rewrites their mirror; a failed state write changes nothing.</summary>
    private async Task ChangeRulesAsync(UnrecordedAudit entry, Action<Dictionary<Guid, RuleInfo>> change)
    {
        var before = tenant.State.Rules;
        var after = new Dictionary<Guid, RuleInfo>(before);
        change(after);
        tenant.State.Rules = after;
        await StoreAsync(entry, () => tenant.State.Rules = before);
        await FollowUpAsync(() => ruleRows.ReplaceAsync(Id, after.Values));
    }
}
