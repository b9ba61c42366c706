using Alto.GrainInterfaces.Tenants;

namespace Alto.Gateway.ReadModels;

/// <summary>
/// The arithmetic of savings, one place for reports and what-if: a stubbed byte saves the tier-1
/// price less its target's each month; each file tiered costs a write, each recall a read and
/// its bytes' retrieval. GB is 10^9 bytes; a month is a twelfth of a Gregorian year.
/// </summary>
public static class Pricing
{
    public const decimal BytesPerGb = 1_000_000_000m;

    public const decimal DaysPerMonth = 365.2425m / 12m;

    /// <summary>Money figures keep four decimal places: small test trees and large fleets both read sensibly.</summary>
    public static decimal Round(decimal amount) => Math.Round(amount, 4, MidpointRounding.AwayFromZero);

    /// <summary>What keeping <paramref name="bytes"/> on tier 1 would cost a month.</summary>
    public static decimal LocalPerMonth(CostModel model, long bytes) => bytes / BytesPerGb * model.LocalPerGbMonth;

    /// <summary>What <paramref name="bytes"/> cost a month on the target.</summary>
    public static decimal StoragePerMonth(CostModel model, Guid targetId, long bytes) => bytes / BytesPerGb * model.PriceOf(targetId).StoragePerGbMonth;

    /// <summary>The month's saving of holding <paramref name="bytes"/> on the target rather than on tier 1 (negative when the target costs more).</summary>
    public static decimal SavedPerMonth(CostModel model, Guid targetId, long bytes) =>
        LocalPerMonth(model, bytes) - StoragePerMonth(model, targetId, bytes);

    /// <summary>Requests and retrieval: a write per file tiered, a read per recall, and the recalled bytes' retrieval.</summary>
    public static decimal RequestCosts(CostModel model, Guid targetId, long tieredFiles, long recalledFiles, long recalledBytes)
    {
        var price = model.PriceOf(targetId);
        return tieredFiles * price.WritesPerThousand / 1000m + recalledFiles * price.ReadsPerThousand / 1000m
            + recalledBytes / BytesPerGb * price.RetrievalPerGb;
    }
}
