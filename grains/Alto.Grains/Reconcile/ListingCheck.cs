using System.Buffers;
using Alto.GrainInterfaces.Common;
using Alto.Scanning;

namespace Alto.Grains.Reconcile;

/// <summary>What makes a part of a listing unacceptable, checked whole before anything of it is kept.</summary>
public static class ListingCheck
{
    public sealed record ListingProblem(string Field, string Message);

    /// <summary>What is wrong with the part, read from its packed form (which holds at most <see cref="ListingPartFormat.MaxEntries"/> objects).</summary>
    public static ListingProblem? Problem(ListingPart listing, Guid tenantId)
    {
        if (listing.Failure is { Length: 0 or > 2000 })
        {
            return new("failure", "failure, when given, is 1 to 2000 characters");
        }
        var tenantSegment = $"{tenantId:N}/";
        var previous = listing.After;
        for (var i = 0; i < listing.Entries.Count; i++)
        {
            var item = listing.Entries[i];
            if (string.IsNullOrEmpty(item.Key) || item.Key.Length > 1024 || !IsContentKey(item.Key) || AgentText.HasNul(item.Key))
            {
                return new($"objects[{i}].key", "must be a content key of 1 to 1024 characters ending in the object's SHA-256");
            }
            // The agent lists its own tenant's prefix only: a key of another tenant's is refused, never compared.
            if (!item.Key.StartsWith(tenantSegment, StringComparison.Ordinal) && !item.Key.Contains("/" + tenantSegment, StringComparison.Ordinal))
            {
                return new($"objects[{i}].key", "is not below this tenant's prefix");
            }
            if (previous is not null && string.CompareOrdinal(item.Key, previous) <= 0)
            {
                return new($"objects[{i}].key", "keys must come in ascending order, after the part's 'after'");
            }
            if (item.Length < 0)
            {
                return new($"objects[{i}].length", "must be 0 or more");
            }
            if (item.Problem is { Length: 0 or > 1000 })
            {
                return new($"objects[{i}].problem", "problem, when given, is 1 to 1000 characters");
            }
            previous = item.Key;
        }
        return null;
    }

    /// <summary>
    /// The part as it can be kept: an object's problem and the listing's failure are the store's or
    /// the system's words, and may hold a NUL (an error body), which becomes U+FFFD rather than fail
    /// the part's write — and with it the run.
    /// </summary>
    public static ListingPart Storable(ListingPart listing) =>
        !AgentText.HasNul(listing.Failure) && !listing.Entries.Any(entry => AgentText.HasNul(entry.Problem))
            ? listing
            : listing with
            {
                Failure = AgentText.Storable(listing.Failure),
                Entries = [.. listing.Entries.Select(entry => AgentText.HasNul(entry.Problem) ? entry with { Problem = AgentText.Storable(entry.Problem) } : entry)],
            };

    /// <summary>A content key ends in its object's SHA-256 (lower-case hex) and is not an upload still in staging.</summary>
    private static bool IsContentKey(string key)
    {
        // Checked for every object of every part: in place, without copying the name.
        var name = key.AsSpan(key.LastIndexOf('/') + 1);
        return name.Length == 64 && !name.ContainsAnyExcept(LowerHexDigits) && !key.Contains("/incoming/", StringComparison.Ordinal);
    }

    private static readonly SearchValues<char> LowerHexDigits = SearchValues.Create("0123456789abcdef");
}
