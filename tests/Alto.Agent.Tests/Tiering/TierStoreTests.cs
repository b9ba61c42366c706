using System.Security.Cryptography;
using Alto.Tiering;
using Amazon.S3.Model;

namespace Alto.Agent.Tests.Tiering;

/// <summary>The same contract for every kind of store, against the real servers (s3rver, azurite) and a real folder.</summary>
[Collection(TierStoreCollection.Name)]
public sealed class TierStoreTests(TierStoreFixture fixture)
{
    public static TheoryData<string> Kinds() => ["path", "s3", "azure"];

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static async Task<byte[]> ReadAllAsync(ITierStore store, string key, long offset = 0, long? length = null)
    {
        await using var stream = await store.OpenReadAsync(key, offset, length, CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task AnObjectIsStoredUnderItsContentAddressAndReadBackWholeOrInRanges(string kind)
    {
        var store = fixture.Open(kind, $"t-{Guid.NewGuid():N}");
        var tenant = Guid.NewGuid();
        var content = RandomBytes(300_000);

        var stored = await store.PutAsync(tenant, new MemoryStream(content), CancellationToken.None);

        Assert.Equal((Sha256(content), (long)content.Length), (stored.Sha256, stored.Length));
        Assert.EndsWith($"{tenant:N}/{stored.Sha256[..2]}/{stored.Sha256[2..4]}/{stored.Sha256}", stored.Key, StringComparison.Ordinal);
        Assert.Equal(content, await ReadAllAsync(store, stored.Key));
        Assert.Equal(content.AsSpan(1000, 5000).ToArray(), await ReadAllAsync(store, stored.Key, 1000, 5000));
        Assert.Equal(content.AsSpan(299_000).ToArray(), await ReadAllAsync(store, stored.Key, 299_000));
        Assert.Equal(stored, await store.GetInfoAsync(stored.Key, CancellationToken.None));
        Assert.Equal(stored.Sha256, await Sha256Check.OfObjectAsync(store, stored.Key, CancellationToken.None));
        var listed = Assert.Single(await store.ListAsync(tenant, null, CancellationToken.None).ToListAsync());
        Assert.Equal(stored, listed with { Modified = null });
        Assert.InRange(listed.Modified!.Value, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
        Assert.Empty(await store.ListAsync(Guid.NewGuid(), null, CancellationToken.None).ToListAsync());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task ListingsComeInKeyOrderAndResumeAfterAnyKey(string kind)
    {
        var store = fixture.Open(kind, $"t-{Guid.NewGuid():N}");
        var tenant = Guid.NewGuid();
        var keys = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            keys.Add((await store.PutAsync(tenant, new MemoryStream(RandomBytes(100 + i)), CancellationToken.None)).Key);
        }
        keys.Sort(StringComparer.Ordinal);

        Assert.Equal(keys, (await store.ListAsync(tenant, null, CancellationToken.None).ToListAsync()).Select(o => o.Key));
        Assert.Equal(keys[11..], (await store.ListAsync(tenant, keys[10], CancellationToken.None).ToListAsync()).Select(o => o.Key));
        // A cursor that is not itself a key (an object deleted since) resumes at the next key after it.
        var between = keys[20][..^1] + (char)(keys[20][^1] - 1 < '0' ? '0' : keys[20][^1] - 1);
        Assert.Equal(keys.Where(key => string.CompareOrdinal(key, between) > 0), (await store.ListAsync(tenant, between, CancellationToken.None).ToListAsync()).Select(o => o.Key));
        Assert.Empty(await store.ListAsync(tenant, keys[^1], CancellationToken.None).ToListAsync());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task ALargeObjectGoesUpInPartsAndLeavesNoStagingBehind(string kind)
    {
        var prefix = $"t-{Guid.NewGuid():N}";
        var store = fixture.Open(kind, prefix);
        var tenant = Guid.NewGuid();
        var content = RandomBytes(TierStoreFixture.PartSize * 2 + 12_345);

        var stored = await store.PutAsync(tenant, new MemoryStream(content), CancellationToken.None);

        Assert.Equal((Sha256(content), (long)content.Length), (stored.Sha256, stored.Length));
        Assert.Equal(stored.Sha256, await Sha256Check.OfObjectAsync(store, stored.Key, CancellationToken.None));
        Assert.Equal(stored, await store.GetInfoAsync(stored.Key, CancellationToken.None));
        Assert.Equal([stored.Key], await AllKeysAsync(kind, store, prefix));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task TheSameContentIsStoredOnce(string kind)
    {
        var prefix = $"t-{Guid.NewGuid():N}";
        var store = fixture.Open(kind, prefix);
        var tenant = Guid.NewGuid();
        var content = RandomBytes(10_000);

        var first = await store.PutAsync(tenant, new MemoryStream(content), CancellationToken.None);
        var second = await store.PutAsync(tenant, new MemoryStream(content), CancellationToken.None);

        Assert.Equal(first, second);
        Assert.Equal([first.Key], await AllKeysAsync(kind, store, prefix));
        await store.DeleteAsync(first.Key, CancellationToken.None);
        Assert.Null(await store.GetInfoAsync(first.Key, CancellationToken.None));
        await store.DeleteAsync(first.Key, CancellationToken.None);
        await Assert.ThrowsAsync<TierObjectNotFoundException>(() => store.OpenReadAsync(first.Key, 0, null, CancellationToken.None));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task AConditionalDeleteTakesOnlyAnObjectUnmodifiedSinceTheCutOff(string kind)
    {
        var prefix = $"t-{Guid.NewGuid():N}";
        var store = fixture.Open(kind, prefix);
        var tenant = Guid.NewGuid();
        var stored = await store.PutAsync(tenant, new MemoryStream(RandomBytes(5_000)), CancellationToken.None);

        // Written just now: a cut-off an hour ago keeps it, and leaves nothing aside.
        Assert.Equal(ReclaimOutcome.Newer, await store.DeleteUnlessModifiedSinceAsync(stored.Key, DateTimeOffset.UtcNow.AddHours(-1), CancellationToken.None));
        Assert.Equal(stored, await store.GetInfoAsync(stored.Key, CancellationToken.None));
        Assert.Equal([stored.Key], await AllKeysAsync(kind, store, prefix));
        // A cut-off after its time deletes it; a second delete finds nothing.
        Assert.Equal(ReclaimOutcome.Deleted, await store.DeleteUnlessModifiedSinceAsync(stored.Key, DateTimeOffset.UtcNow.AddMinutes(5), CancellationToken.None));
        Assert.Null(await store.GetInfoAsync(stored.Key, CancellationToken.None));
        Assert.Empty(await AllKeysAsync(kind, store, prefix));
        Assert.Equal(ReclaimOutcome.Absent, await store.DeleteUnlessModifiedSinceAsync(stored.Key, DateTimeOffset.UtcNow.AddMinutes(5), CancellationToken.None));
    }

    [Fact]
    public async Task StoringContentThatIsThereAlreadyMakesItNewAgainForTheOrphanRules()
    {
        var root = Directory.CreateTempSubdirectory("alto-refresh-").FullName;
        var store = new PathTierStore(root);
        var tenant = Guid.NewGuid();
        var content = RandomBytes(2_000);
        var first = await store.PutAsync(tenant, new MemoryStream(content), CancellationToken.None);
        var path = Path.Combine(root, first.Key);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddDays(-40));
        var cutoff = DateTimeOffset.UtcNow.AddDays(-30);

        // Uploaded again (a new file with the same bytes): the old object is the new upload's, and a reclaim must not take it.
        Assert.Equal(first, await store.PutAsync(tenant, new MemoryStream(content), CancellationToken.None));
        Assert.True(File.GetLastWriteTimeUtc(path) > DateTime.UtcNow.AddMinutes(-5));
        Assert.Equal(ReclaimOutcome.Newer, await store.DeleteUnlessModifiedSinceAsync(first.Key, cutoff, CancellationToken.None));
        Assert.Equal(content, await File.ReadAllBytesAsync(path));

        // Unrefreshed past the grace period it goes, and nothing is left under incoming/.
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddDays(-40));
        Assert.Equal(ReclaimOutcome.Deleted, await store.DeleteUnlessModifiedSinceAsync(first.Key, cutoff, CancellationToken.None));
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories));
        // An upload after the reclaim writes the object afresh.
        Assert.Equal(first, await store.PutAsync(tenant, new MemoryStream(content), CancellationToken.None));
        Assert.Equal(content, await File.ReadAllBytesAsync(path));
    }

    /// <summary>
    /// An upload through a stream (a throttled, compressed or encrypted job) whose content address
    /// already holds an object of the same length keeps that object only if its bytes are the same:
    /// a damaged one (a disk's error, or an unflushed object a crash cut short) is replaced, else
    /// every later file with this content would fail its read-back.
    /// </summary>
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task AStreamedUploadReplacesADamagedObjectUnderItsAddress()
    {
        var root = Directory.CreateTempSubdirectory("alto-damaged-").FullName;
        try
        {
            var store = new PathTierStore(root);
            var tenant = Guid.NewGuid();
            var content = RandomBytes(3 << 20);
            var first = await store.PutAsync(tenant, new MemoryStream(content), CancellationToken.None);
            var objectPath = Path.Combine(root, first.Key);
            var damaged = (byte[])content.Clone();
            damaged[content.Length / 2] ^= 0x01;
            await File.WriteAllBytesAsync(objectPath, damaged);

            Assert.Equal(first, await store.PutUnflushedAsync(tenant, new MemoryStream(content), CancellationToken.None));
            Assert.Equal(content, await File.ReadAllBytesAsync(objectPath));
            // The same bytes again: the object is kept (the same inode, not a copy renamed over it), and nothing is left under incoming/.
            var repaired = Alto.Agent.Stubs.LinuxFiles.StatPath(objectPath).Inode;
            Assert.Equal(first, await store.PutAsync(tenant, new MemoryStream(content), CancellationToken.None));
            Assert.Equal(content, await File.ReadAllBytesAsync(objectPath));
            Assert.Equal(repaired, Alto.Agent.Stubs.LinuxFiles.StatPath(objectPath).Inode);
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(root, $"{tenant:N}", "incoming")));
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    /// <summary>
    /// A file copied into a path store inside the kernel (same file system here: copy_file_range)
    /// lands under its content address with the check of its bytes; a damaged object already under
    /// that address is replaced by the good copy, not trusted for its name and length.
    /// </summary>
    [Fact]
    public async Task AFileCopiedInTheKernelLandsUnderItsAddressAndADamagedObjectThereIsReplaced()
    {
        var root = Directory.CreateTempSubdirectory("alto-copy-").FullName;
        try
        {
            var store = new PathTierStore(Path.Combine(root, "tier2"));
            var tenant = Guid.NewGuid();
            var content = RandomBytes(3 << 20);
            var source = Path.Combine(root, "plans.dwg");
            await File.WriteAllBytesAsync(source, content);

            CopiedObject? copied;
            using (var file = File.OpenHandle(source))
            {
                copied = await store.PutCopyUnflushedAsync(tenant, file, CancellationToken.None);
            }

            Assert.NotNull(copied);
            Assert.Equal((Sha256(content), (long)content.Length), (copied.Stored.Sha256, copied.Stored.Length));
            Assert.Equal(content, await ReadAllAsync(store, copied.Stored.Key));
            using (var file = File.OpenHandle(source))
            {
                Assert.Equal(copied.Check, await ReadBackCheck.OfFileAsync(file, CancellationToken.None));
            }
            var objectPath = Path.Combine(store.Root, copied.Stored.Key);
            var damaged = (byte[])content.Clone();
            damaged[content.Length / 3] ^= 0x40;
            await File.WriteAllBytesAsync(objectPath, damaged);

            using (var file = File.OpenHandle(source))
            {
                Assert.Equal(copied, await store.PutCopyUnflushedAsync(tenant, file, CancellationToken.None));
            }

            Assert.Equal(content, await File.ReadAllBytesAsync(objectPath));

            // An empty file: the kernel's first answer is 0 bytes, which must not be taken for a copy that cannot be made.
            var empty = Path.Combine(root, "placeholder.txt");
            await File.WriteAllBytesAsync(empty, []);
            using (var file = File.OpenHandle(empty))
            {
                var copiedEmpty = await store.PutCopyUnflushedAsync(tenant, file, CancellationToken.None);
                Assert.Equal((Sha256([]), 0L), (copiedEmpty!.Stored.Sha256, copiedEmpty.Stored.Length));
            }
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(store.Root, $"{tenant:N}", "incoming")));
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task ObjectsPutUnflushedAreReadableAndAFlushFailsWhenOneOfThemIsGone(int objects)
    {
        var root = Directory.CreateTempSubdirectory("alto-flush-").FullName;
        var store = new PathTierStore(root);
        var tenant = Guid.NewGuid();
        var contents = Enumerable.Range(0, objects).Select(_ => RandomBytes(5_000)).ToArray();
        var stored = new List<StoredObject>();
        foreach (var content in contents)
        {
            stored.Add(await store.PutUnflushedAsync(tenant, new MemoryStream(content), CancellationToken.None));
        }

        await store.FlushAsync(stored, CancellationToken.None);
        foreach (var (content, put) in contents.Zip(stored))
        {
            Assert.Equal(content, await ReadAllAsync(store, put.Key));
        }
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(root, $"{tenant:N}", "incoming")));

        // Taken between its put and the flush (a reclaim): the flush must not report it durable.
        File.Delete(Path.Combine(root, stored[^1].Key));
        await Assert.ThrowsAnyAsync<FileNotFoundException>(() => store.FlushAsync(stored, CancellationToken.None));
        Directory.Delete(root, true);
    }

    [Fact]
    public async Task AnObjectAReclaimSetAsideAndNeverJudgedIsPutBackBeforeTheStoreListsOrDeletes()
    {
        var root = Directory.CreateTempSubdirectory("alto-setaside-").FullName;
        var tenant = Guid.NewGuid();
        var writer = new PathTierStore(root);
        var lost = await writer.PutAsync(tenant, new MemoryStream(RandomBytes(3_000)), CancellationToken.None);
        var twice = await writer.PutAsync(tenant, new MemoryStream(RandomBytes(3_000)), CancellationToken.None);
        // A reclaim died between its move and its judgement: the objects sit under incoming/ by the name it gives them.
        var incoming = Path.Combine(root, $"{tenant:N}", "incoming");
        Directory.CreateDirectory(incoming);
        File.Move(Path.Combine(root, lost.Key), Path.Combine(incoming, $"reclaim-{lost.Sha256}-{Guid.NewGuid():N}"));
        File.Copy(Path.Combine(root, twice.Key), Path.Combine(incoming, $"reclaim-{twice.Sha256}-{Guid.NewGuid():N}"));

        // The agent started again (a new store): its first listing finds both objects at their keys, and nothing left aside.
        var listed = await new PathTierStore(root).ListAsync(tenant, null, CancellationToken.None).ToListAsync();
        Assert.Equal(new[] { lost.Key, twice.Key }.Order(StringComparer.Ordinal), listed.Select(o => o.Key).Order(StringComparer.Ordinal));
        Assert.Equal(lost.Sha256, await Sha256Check.OfObjectAsync(writer, lost.Key, CancellationToken.None));
        Assert.Empty(Directory.EnumerateFiles(incoming));
        await Assert.ThrowsAsync<ArgumentException>(() => writer.DeleteUnlessModifiedSinceAsync($"{tenant:N}/x", DateTimeOffset.UtcNow, CancellationToken.None));
    }

    [Fact]
    public async Task APathListingGivesEachObjectsLengthAndTimeAndSkipsWhatIsNotAnObject()
    {
        var root = Directory.CreateTempSubdirectory("alto-listing-").FullName;
        var tenant = Guid.NewGuid();
        var store = new PathTierStore(root, "pre/fix");
        var objects = new List<StoredObject>();
        for (var i = 0; i < 12; i++)
        {
            objects.Add(await store.PutAsync(tenant, new MemoryStream(RandomBytes(500 + i)), CancellationToken.None));
        }
        var old = Path.Combine(root, objects[3].Key);
        File.SetLastWriteTimeUtc(old, new DateTime(2024, 2, 29, 12, 30, 15, DateTimeKind.Utc));
        // What else a share may hold beside the store's objects: none of it is an object.
        var folder = Path.GetDirectoryName(old)!;
        var hashLike = new string('e', 64);
        await File.WriteAllTextAsync(Path.Combine(folder, "notes.txt"), "not an object");
        await File.WriteAllTextAsync(Path.Combine(folder, hashLike.ToUpperInvariant()), "upper case is not a key");
        await File.WriteAllTextAsync(Path.Combine(folder, "é" + hashLike[1..]), "not ASCII");
        File.CreateSymbolicLink(Path.Combine(folder, hashLike), old);
        Directory.CreateDirectory(Path.Combine(root, "pre", "fix", $"{tenant:N}", "incoming"));
        await File.WriteAllTextAsync(Path.Combine(root, "pre", "fix", $"{tenant:N}", "incoming", hashLike), "an upload in staging");

        var listed = await store.ListAsync(tenant, null, CancellationToken.None).ToListAsync();

        Assert.Equal(objects.Select(o => o.Key).Order(StringComparer.Ordinal), listed.Select(o => o.Key));
        foreach (var item in listed)
        {
            var file = new FileInfo(Path.Combine(root, item.Key));
            Assert.Equal((file.Length, new DateTimeOffset(file.LastWriteTimeUtc)), (item.Length, item.Modified!.Value));
            Assert.Equal(Path.GetFileName(item.Key), item.Sha256);
        }
        Assert.Equal(new DateTimeOffset(2024, 2, 29, 12, 30, 15, TimeSpan.Zero), listed.Single(o => o.Key == objects[3].Key).Modified);
        Assert.True(listed.All(o => o.Key.StartsWith($"pre/fix/{tenant:N}/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AnUnreachableStoreSaysSo()
    {
        var closed = $"http://127.0.0.1:{Alto.TestSupport.FreePorts.Next()}";
        var s3 = new S3TierStore(S3TierStore.CreateClient(closed, "us-east-1", true, "k", "s"), "b");
        await Assert.ThrowsAsync<TierStoreUnavailableException>(() => s3.PutAsync(Guid.NewGuid(), new MemoryStream([1, 2, 3]), CancellationToken.None));
        var azure = new AzureBlobTierStore(AzureBlobTierStore.CreateContainerClient("c",
            $"DefaultEndpointsProtocol=http;AccountName=a;AccountKey={Alto.TestSupport.Tier2Server.AzuriteKey};BlobEndpoint={closed}/a;", null, null, null, null));
        await Assert.ThrowsAsync<TierStoreUnavailableException>(() => azure.PutAsync(Guid.NewGuid(), new MemoryStream([1, 2, 3]), CancellationToken.None));
    }

    /// <summary>
    /// An endpoint that takes the connection and then answers nothing: without a limit of their
    /// own the clients' timeouts and retries held a PUT for more than 15 minutes (S3) or 100 s a
    /// try, four tries (Azure). Every request is given the store's answer limit (here 2 s), then
    /// the store is reported unavailable. A store that regressed is cut off after a minute.
    /// </summary>
    [Theory]
    [InlineData("s3", "the S3 store did not answer within 2 s")]
    [InlineData("azure", "the Azure Blob store did not answer within 2 s")]
    public async Task AStoreThatAnswersNothingIsUnavailableWithinItsAnswerLimit(string kind, string message)
    {
        using var silent = Stubs.SilentTierTwo.Silent();
        var limit = TimeSpan.FromSeconds(2);
        ITierStore store = kind == "s3"
            ? new S3TierStore(S3TierStore.CreateClient(silent.Endpoint, "us-east-1", true, "k", "s"), "tier2", answerLimit: limit)
            : new AzureBlobTierStore(AzureBlobTierStore.CreateContainerClient("tier2",
                $"DefaultEndpointsProtocol=http;AccountName=a;AccountKey={Alto.TestSupport.Tier2Server.AzuriteKey};BlobEndpoint={silent.Endpoint}/a;",
                null, null, null, null), answerLimit: limit);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var regressed = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var put = await Assert.ThrowsAsync<TierStoreUnavailableException>(() => store.PutAsync(Guid.NewGuid(), new MemoryStream([1, 2, 3]), regressed.Token));
        var info = await Assert.ThrowsAsync<TierStoreUnavailableException>(() => store.GetInfoAsync("any/key", regressed.Token));
        var read = await Assert.ThrowsAsync<TierStoreUnavailableException>(() => store.OpenReadAsync("any/key", 0, null, regressed.Token));

        Assert.Equal([message, message, message], new[] { put.Message, info.Message, read.Message });
        // Three limits of 2 s each, less the few milliseconds a timer may fire early by against the stopwatch.
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(5.9), TimeSpan.FromSeconds(30));
    }

    /// <summary>Every key under the prefix as the server itself lists it, staging included.</summary>
    private async Task<List<string>> AllKeysAsync(string kind, ITierStore store, string prefix)
    {
        switch (kind)
        {
            case "s3":
                var listed = await fixture.S3Client().ListObjectsV2Async(new ListObjectsV2Request { BucketName = TierStoreFixture.Bucket, Prefix = prefix });
                return [.. (listed.S3Objects ?? []).Select(o => o.Key)];
            case "azure":
                var container = AzureBlobTierStore.CreateContainerClient("tier2", fixture.Azurite.AzureConnectionString, null, null, null, null);
                var keys = new List<string>();
                await foreach (var blob in container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = prefix }))
                {
                    keys.Add(blob.Name);
                }
                return keys;
            default:
                var root = ((PathTierStore)store).Root;
                return [.. Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f))];
        }
    }
}
