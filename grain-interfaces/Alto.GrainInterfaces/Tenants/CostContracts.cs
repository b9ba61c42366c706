namespace Alto.GrainInterfaces.Tenants;

/// <summary>
/// What one storage target costs, as its provider bills it: storage per GB-month (GB = 10^9
/// bytes, as cloud price lists count), requests per thousand (a tiered file is one write, a
/// recall one read) and retrieval per GB read back (archive tiers charge it; hot tiers do not).
/// </summary>
[GenerateSerializer, Immutable, Alias("Alto.TargetPrice")]
public sealed record TargetPrice(
    [property: Id(0)] Guid TargetId,
    [property: Id(1)] decimal StoragePerGbMonth,
    [property: Id(2)] decimal WritesPerThousand,
    [property: Id(3)] decimal ReadsPerThousand,
    [property: Id(4)] decimal RetrievalPerGb);

/// <summary>
/// A tenant's prices: tier 1 per GB-month (what a byte left on the file server costs) and each
/// target's; a target not listed costs nothing. Savings and what-if figures are in <see cref="Currency"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("Alto.CostModel")]
public sealed record CostModel(
    [property: Id(0)] string Currency,
    [property: Id(1)] decimal LocalPerGbMonth,
    [property: Id(2)] TargetPrice[] Targets)
{
    /// <summary>When a tenant admin last set it; null: never set, every price is zero and savings read zero.</summary>
    [Id(3)] public DateTimeOffset? UpdatedAt { get; init; }

    public const string DefaultCurrency = "USD";

    /// <summary>The highest price taken per unit: a typo of a few orders of magnitude is refused, not priced.</summary>
    public const decimal MaxPrice = 1_000_000m;

    public static readonly CostModel Unset = new(DefaultCurrency, 0m, []);

    public TargetPrice PriceOf(Guid targetId) =>
        Targets.FirstOrDefault(price => price.TargetId == targetId) ?? new TargetPrice(targetId, 0m, 0m, 0m, 0m);
}
