using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Planning;
using Alto.GrainInterfaces.Rules;

namespace Alto.GrainInterfaces.Tenants;

/// <summary>One tenant: its identity, status and tier-2 storage targets. Keyed by tenant id (a GUID string).</summary>
[Alias("Alto.ITenantGrain")]
public interface ITenantGrain : IGrainWithStringKey
{
    [Alias("CreateAsync")]
    Task<CommandResult<TenantInfo>> CreateAsync(CreateTenant command);

    [Alias("GetAsync")]
    Task<TenantInfo?> GetAsync();

    /// <summary>Changes the tenant; with <paramref name="ifMatch"/>, only while it is at one of those revisions (<see cref="Revision"/>).</summary>
    [Alias("UpdateAsync")]
    Task<CommandResult<TenantInfo>> UpdateAsync(UpdateTenant command, string[]? ifMatch = null);

    [Alias("SetStatusAsync")]
    Task<CommandResult<TenantInfo>> SetStatusAsync(TenantStatus status);

    [Alias("AddTargetAsync")]
    Task<CommandResult<StorageTargetInfo>> AddTargetAsync(CreateStorageTarget command);

    /// <summary>Changes a target; with <paramref name="ifMatch"/>, only while it is at one of those revisions.</summary>
    [Alias("UpdateTargetAsync")]
    Task<CommandResult<StorageTargetInfo>> UpdateTargetAsync(Guid targetId, UpdateStorageTarget command, string[]? ifMatch = null);

    [Alias("GetTargetAsync")]
    Task<StorageTargetInfo?> GetTargetAsync(Guid targetId);

    /// <summary>
    /// Deletes a target nothing names (no rule, no record, job, run or schedule; otherwise a
    /// conflict saying what names it); with <paramref name="ifMatch"/>, only while it is at one of those revisions.
    /// </summary>
    [Alias("DeleteTargetAsync")]
    Task<CommandResult<StorageTargetInfo>> DeleteTargetAsync(Guid targetId, string[]? ifMatch = null);

    [Alias("ListTargetsAsync")]
    Task<StorageTargetInfo[]> ListTargetsAsync();

    /// <summary>A target with its secrets, for a job's delivery to an agent; null when missing or disabled. Never exposed by the API.</summary>
    [Alias("GetTargetForAgentAsync")]
    Task<Tiers.AgentTarget?> GetTargetForAgentAsync(Guid targetId);

    /// <summary>
    /// A target with its secrets, for an agent's recall of a stub it backs: disabled ones too (a
    /// disabled target takes no new objects; what it holds is still recalled); null when missing
    /// or the tenant is disabled. Never exposed by the API.
    /// </summary>
    [Alias("GetTargetForRecallAsync")]
    Task<Tiers.AgentTarget?> GetTargetForRecallAsync(Guid targetId);

    /// <summary>Every target, disabled ones too (their objects still back stubs), with its credentials still sealed: for the recovery kit.</summary>
    [Alias("ListRecoveryTargetsAsync")]
    Task<RecoveryTarget[]> ListRecoveryTargetsAsync();

    /// <summary>The rules in evaluation order, or null when the tenant does not exist.</summary>
    [Alias("ListRulesAsync")]
    Task<RuleInfo[]?> ListRulesAsync();

    [Alias("GetRuleAsync")]
    Task<RuleInfo?> GetRuleAsync(Guid ruleId);

    [Alias("AddRuleAsync")]
    Task<CommandResult<RuleInfo>> AddRuleAsync(Guid ruleId, RuleDefinition definition);

    /// <summary>Replaces a rule whole; a null priority keeps its place. With <paramref name="ifMatch"/>, only while the rule is at one of those revisions.</summary>
    [Alias("UpdateRuleAsync")]
    Task<CommandResult<RuleInfo>> UpdateRuleAsync(Guid ruleId, RuleDefinition definition, string[]? ifMatch = null);

    /// <summary>Deletes a rule; with <paramref name="ifMatch"/>, only while it is at one of those revisions.</summary>
    [Alias("DeleteRuleAsync")]
    Task<CommandResult<RuleInfo>> DeleteRuleAsync(Guid ruleId, string[]? ifMatch = null);

    /// <summary>Puts every rule of the tenant in the given order.</summary>
    [Alias("ReorderRulesAsync")]
    Task<CommandResult<RuleInfo[]>> ReorderRulesAsync(Guid[] ruleIds);

    /// <summary>A data key per object for <paramref name="count"/> objects, or null when the tenant does not encrypt tier 2.</summary>
    [Alias("IssueDataKeysAsync")]
    Task<Tiers.DataKeyGrant[]?> IssueDataKeysAsync(int count);

    /// <summary>The data key inside a wrapped key of this tenant's (for a recall of an encrypted object); refused for anything else.</summary>
    [Alias("UnwrapDataKeyAsync")]
    Task<CommandResult<byte[]>> UnwrapDataKeyAsync(string wrapped);

    /// <summary>Rotates the tenant key (old versions keep decrypting) and seals the targets' credentials under the new one.</summary>
    [Alias("RotateKeyAsync")]
    Task<CommandResult<TenantKeyInfo>> RotateKeyAsync();

    /// <summary>Plans (or previews) every host of the tenant that is not disabled, side by side.</summary>
    [Alias("PlanAsync"), Orleans.Concurrency.AlwaysInterleave, ResponseTimeout("00:30:00")]
    Task<CommandResult<PlanSummary>> PlanAsync(bool dryRun);

    /// <summary>
    /// Previews a rule set without saving it: the draft (validated as rules are, against this
    /// tenant's targets and hosts) or, when null, the rules in force — on every plannable host, or
    /// on one. The summary's rules carry the draft's order; files that match none are its remainder.
    /// </summary>
    [Alias("WhatIfAsync"), Orleans.Concurrency.AlwaysInterleave, ResponseTimeout("00:30:00")]
    Task<CommandResult<PlanSummary>> WhatIfAsync(RuleDefinition[]? draft, Guid? hostId);

    /// <summary>The tenant's prices (<see cref="CostModel.Unset"/> until an admin sets them), or null when the tenant does not exist.</summary>
    [Alias("GetCostModelAsync")]
    Task<CostModel?> GetCostModelAsync();

    /// <summary>Replaces the tenant's prices whole, after checking every figure and that each target is the tenant's.</summary>
    [Alias("SetCostModelAsync")]
    Task<CommandResult<CostModel>> SetCostModelAsync(CostModel model, string[]? ifMatch = null);
}
