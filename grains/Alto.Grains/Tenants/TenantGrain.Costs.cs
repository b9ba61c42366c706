using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Tenants;

namespace Alto.Grains.Tenants;

/// <summary>The tenant's prices, kept in its state: what savings and what-if figures are priced with.</summary>
public sealed partial class TenantGrain
{
    public Task<CostModel?> GetCostModelAsync() =>
        Task.FromResult(tenant.State.Exists ? tenant.State.Costs ?? CostModel.Unset : null);

    public async Task<CommandResult<CostModel>> SetCostModelAsync(CostModel model, string[]? ifMatch = null)
    {
        if (!tenant.State.Exists)
        {
            return CommandResult<CostModel>.NotFound($"tenant {Id} not found");
        }
        if (Revision.Stale(tenant.State.Costs ?? CostModel.Unset, ifMatch, "the cost model") is { } stale)
        {
            return CommandResult<CostModel>.Stale(stale);
        }
        if (CostModelRefusal(model) is { } invalid)
        {
            return invalid;
        }
        var before = tenant.State.Costs;
        var after = model with { Targets = [.. model.Targets.OrderBy(price => price.TargetId)], UpdatedAt = time.GetUtcNow() };
        tenant.State.Costs = after;
        await StoreAsync(AuditOf("tenant.cost_model_updated", "tenant", Id.ToString(), before, after), () => tenant.State.Costs = before);
        await FollowUpAsync(() => Task.CompletedTask);
        return CommandResult<CostModel>.Ok(after);
    }

    private CommandResult<CostModel>? CostModelRefusal(CostModel model)
    {
        if (model.Currency is not { Length: 3 } currency || !currency.All(char.IsAsciiLetterUpper))
        {
            return CommandResult<CostModel>.Invalid("currency", "currency is an ISO 4217 code of three capital letters, such as USD or EUR");
        }
        if (PriceProblem("localPerGbMonth", model.LocalPerGbMonth) is { } local)
        {
            return local;
        }
        var seen = new HashSet<Guid>();
        for (var i = 0; i < (model.Targets?.Length ?? 0); i++)
        {
            var field = $"targets[{i}]";
            if (model.Targets![i] is not { } price)
            {
                return CommandResult<CostModel>.Invalid(field, "a target's prices are required");
            }
            if (!tenant.State.Targets.ContainsKey(price.TargetId))
            {
                return CommandResult<CostModel>.Invalid($"{field}.targetId", $"storage target {price.TargetId} is not a target of this tenant");
            }
            if (!seen.Add(price.TargetId))
            {
                return CommandResult<CostModel>.Invalid($"{field}.targetId", $"storage target {price.TargetId} is priced twice");
            }
            var problem = PriceProblem($"{field}.storagePerGbMonth", price.StoragePerGbMonth)
                ?? PriceProblem($"{field}.writesPerThousand", price.WritesPerThousand)
                ?? PriceProblem($"{field}.readsPerThousand", price.ReadsPerThousand)
                ?? PriceProblem($"{field}.retrievalPerGb", price.RetrievalPerGb);
            if (problem is not null)
            {
                return problem;
            }
        }
        return model.Targets is null ? CommandResult<CostModel>.Invalid("targets", "targets is required (an empty list prices no target)") : null;
    }

    private static CommandResult<CostModel>? PriceProblem(string field, decimal price) =>
        price is < 0 or > CostModel.MaxPrice
            ? CommandResult<CostModel>.Invalid(field, $"{field} is a price from 0 to {CostModel.MaxPrice} (got {price})")
            : null;
}
