using Alto.Scanning;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Reconcile;

[Trait("Layer", "Unit")]
public sealed class ListingPartFormatTests
{
    private static readonly string Hash = new('c', 64);

    private static ListingPart Sample() => new(
        After: $"t2/{Guid.Empty:N}/aa/{new string('a', 64)}",
        Entries:
        [
            new ListingEntry($"t2/{Guid.Empty:N}/cc/{Hash}", 0, null, null, false),
            new ListingEntry($"données/{Guid.Empty:N}/dd/{Hash}", long.MaxValue, new DateTimeOffset(2026, 3, 1, 8, 0, 0, 123, TimeSpan.Zero).AddTicks(4567), null, true),
            new ListingEntry($"t2/{Guid.Empty:N}/ee/{Hash}", 4096, DateTimeOffset.UnixEpoch, "its bytes hash to 😀, not to the key's SHA-256", true),
        ],
        Finished: true,
        Failure: null);

    [Fact]
    public void APartReadsBackAsWritten()
    {
        var part = Sample();
        var read = ListingPartFormat.Read(ListingPartFormat.Write(part), out var error);
        Assert.Null(error);
        Assert.NotNull(read);
        Assert.Equal(part.After, read.After);
        Assert.Equal(part.Finished, read.Finished);
        Assert.Null(read.Failure);
        Assert.Equal(part.Entries, read.Entries);
        var failed = ListingPartFormat.Read(ListingPartFormat.Write(new ListingPart(null, [], false, "tier 2 could not be listed")), out _)!;
        Assert.Equal(("tier 2 could not be listed", false, null, 0), (failed.Failure, failed.Finished, failed.After, failed.Entries.Count));
    }

    [Fact]
    public void EveryCutShortPartIsRefused()
    {
        var packed = ListingPartFormat.Write(Sample());
        for (var length = 0; length < packed.Length; length++)
        {
            Assert.Null(ListingPartFormat.Read(packed.AsSpan(0, length), out var error));
            Assert.StartsWith("not a listing part: ", error, StringComparison.Ordinal);
        }
    }

    /// <summary>A part broken anywhere (on the network, or by a hostile host) reads as a part or is refused saying why; it never throws.</summary>
    [Fact]
    public void APartBrokenAnywhereReadsOrIsRefusedWithAReason()
    {
        var packed = ListingPartFormat.Write(Sample());
        byte[][] tokens = [[0], [0xFF], [0x80, 0x80, 0x80, 0x80, 0x80], [0x7F], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xFF, 0xFF, 0xFF, 0x7F], "ALP1"u8.ToArray()];
        var random = new Random(20261207);
        var (read, refused) = (0, 0);
        for (var attempt = 0; attempt < 20_000; attempt++)
        {
            if (ListingPartFormat.Read(ByteDamage.Mangle(packed, random, tokens), out var error) is null)
            {
                refused++;
                Assert.StartsWith("not a listing part: ", error, StringComparison.Ordinal);
            }
            else
            {
                read++;
                Assert.Null(error);
            }
        }
        Assert.True(read > 0 && refused > 0, $"{read} read, {refused} refused");
    }

    [Fact]
    public void APartIsSmallerThanItsJson()
    {
        var entries = Enumerable.Range(0, ListingPartFormat.MaxEntries)
            .Select(i => new ListingEntry($"alto/{Guid.NewGuid():N}/{i % 256:x2}/{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)))}", 4096 + i, DateTimeOffset.UtcNow, null, false))
            .ToArray();
        var part = new ListingPart(null, entries, false, null);
        var packed = ListingPartFormat.Write(part);
        var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(part, System.Text.Json.JsonSerializerOptions.Web);
        Assert.True(packed.Length * 4 < json.Length * 3, $"packed {packed.Length} bytes against {json.Length} of JSON");
        Assert.Equal(entries, ListingPartFormat.Read(packed, out _)!.Entries);
    }
}
