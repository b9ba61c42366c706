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
        tenant.State.Targets.TryGetValue(targetId, out var target) && target.Enabled && tenant.State.Status == TenantStatus.Active
            ? new AgentTarget(target.Id, target.Kind, target.Settings, await UnsealAsync(target))
            : null;

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
        await ChangeRulesAsync(rules => rules[ruleId] = rule);
        await audit.RecordAsync(Id, "rule.created", "rule", ruleId.ToString(), null, rule);
        return CommandResult<RuleInfo>.Ok(rule);
    }

    public async Task<CommandResult<RuleInfo>> UpdateRuleAsync(Guid ruleId, RuleDefinition definition)
    {
        if (TenantRefusal<RuleInfo>() is { } refusal)
        {
            return refusal;
        }
        if (!tenant.State.Rules.TryGetValue(ruleId, out var existing))
        {
            return CommandResult<RuleInfo>.NotFound($"rule {ruleId} not found");
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
        await ChangeRulesAsync(rules => rules[ruleId] = rule);
        await audit.RecordAsync(Id, "rule.updated", "rule", ruleId.ToString(), existing, rule);
        return CommandResult<RuleInfo>.Ok(rule);
    }

    public async Task<CommandResult<RuleInfo>> DeleteRuleAsync(Guid ruleId)
    {
        if (TenantRefusal<RuleInfo>() is { } refusal)
        {
            return refusal;
        }
        if (!tenant.State.Rules.TryGetValue(ruleId, out var existing))
        {
            return CommandResult<RuleInfo>.NotFound($"rule {ruleId} not found");
        }
        // Files it planned stay planned until the next plan moves them to another rule or drops them.
        await ChangeRulesAsync(rules => rules.Remove(ruleId));
        await audit.RecordAsync(Id, "rule.deleted", "rule", ruleId.ToString(), existing, null);
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
        await ChangeRulesAsync(all =>
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
        await audit.RecordAsync(Id, "rule.reordered", "tenant", Id.ToString(), order, ruleIds);
        return CommandResult<RuleInfo[]>.Ok(OrderedRules().ToArray());
    }

    public async Task<CommandResult<PlanSummary>> PlanAsync(bool dryRun)
    {
        if (TenantRefusal<PlanSummary>() is { } refusal)
        {
            return refusal;
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var now = time.GetUtcNow();
        var hostIds = await rows.ListPlannableHostsAsync(Id);
        // The tenant's side goes with the call: the hosts' inventory grains need not call back.
        var policy = new TenantPlanPolicy([.. OrderedRules()], await ListTargetsAsync(), ToInfo());
        var results = await Task.WhenAll(hostIds.Select(hostId => GrainFactory.GetGrain<IHostInventoryGrain>(hostId.ToString()).PlanWithAsync(dryRun, policy)));
        var plans = results.Where(result => result.Value is not null).Select(result => result.Value!).ToArray();
        return CommandResult<PlanSummary>.Ok(PlanMerge.Tenant(Id, dryRun, now, plans, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds));
    }

    private IEnumerable<RuleInfo> OrderedRules() => tenant.State.Rules.Values.OrderBy(rule => rule.Priority).ThenBy(rule => rule.Id);

    private int NextFreePriority() =>
        tenant.State.Rules.Count == 0 ? PriorityStep : tenant.State.Rules.Values.Max(rule => rule.Priority) / PriorityStep * PriorityStep + PriorityStep;

    /// <summary>Everything that makes a rule unusable, checked against this tenant's own targets and hosts.</summary>
    private async Task<CommandResult<RuleInfo>?> RuleRefusalAsync(RuleDefinition rule, int priority, Guid? exceptId)
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

    /// <summary>Persists a changed copy of the rules, then rewrites their mirror; a failed state write changes nothing.</summary>
    private async Task ChangeRulesAsync(Action<Dictionary<Guid, RuleInfo>> change)
    {
        var before = tenant.State.Rules;
        var after = new Dictionary<Guid, RuleInfo>(before);
        change(after);
        tenant.State.Rules = after;
        try
        {
            await tenant.WriteStateAsync();
        }
        catch
        {
            tenant.State.Rules = before;
            throw;
        }
        await ruleRows.ReplaceAsync(Id, after.Values);
    }
}
