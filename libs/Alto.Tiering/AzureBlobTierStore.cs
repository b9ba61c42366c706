using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace Alto.Tiering;

/// <summary>
/// Tier 2 in an Azure Blob container (Azure.Storage.Blobs). Like the S3 store: content that
/// fits one block goes straight to its content address with its SHA-256 in the blob's metadata;
/// larger content is staged as blocks of a staging blob while it is hashed, then copied
/// server-side to its content address. Transfer checksums are off: Alto verifies every object
/// with its own SHA-256 by reading it back. Every request has an <see cref="AnswerLimit"/>.
/// </summary>
public sealed class AzureBlobTierStore(
    BlobContainerClient container, string prefix = "", int blockSize = AzureBlobTierStore.DefaultBlockSize, TimeSpan? answerLimit = null) : ITierStore
{
    public const int DefaultBlockSize = 16 << 20;
    private static readonly UploadTransferValidationOptions NoTransferChecksum = new() { ChecksumAlgorithm = StorageChecksumAlgorithm.None };
    private readonly AnswerLimit _answerLimit = AnswerLimit.Of(answerLimit);
    private bool _containerChecked;

    public string Kind => "azure";

    public static BlobContainerClient CreateContainerClient(
        string container, string? connectionString, string? accountUrl, string? accountName, string? accountKey, string? sasToken)
    {
        // A few quick retries: an unreachable store must be reported in seconds, not minutes.
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 3;
        options.Retry.Delay = TimeSpan.FromMilliseconds(200);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(2);
        // Each try, and each read of a response body that stops halfway, ends after the answer limit rather than the SDK's 100 s.
        options.Retry.NetworkTimeout = AnswerLimit.DefaultLimit;
        if (connectionString is { Length: > 0 })
        {
            return new BlobContainerClient(connectionString, container, options);
        }
        if (accountUrl is not { Length: > 0 })
        {
            throw new ArgumentException("an azure target needs a connection string or an account URL");
        }
        var uri = new Uri($"{accountUrl.TrimEnd('/')}/{container}");
        if (accountName is { Length: > 0 } && accountKey is { Length: > 0 })
        {
            return new BlobContainerClient(uri, new StorageSharedKeyCredential(accountName, accountKey), options);
        }
        return sasToken is { Length: > 0 }
            ? new BlobContainerClient(uri, new AzureSasCredential(sasToken), options)
            : new BlobContainerClient(uri, options);
    }

    public async Task<StoredObject> PutAsync(Guid tenantId, Stream content, CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(blockSize);
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var filled = await StreamFill.FillAsync(content, buffer.AsMemory(0, blockSize), cancellationToken);
            hash.AppendData(buffer, 0, filled);
            if (filled < blockSize)
            {
                var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
                var key = ObjectKeys.Content(prefix, tenantId, sha256);
                if (await GetInfoAsync(key, cancellationToken) is not { } existing || existing.Length != filled)
                {
                    await CallAsync(token => container.GetBlockBlobClient(key).UploadAsync(
                        new MemoryStream(buffer, 0, filled, writable: false),
                        new BlobUploadOptions { Metadata = Metadata(sha256), TransferValidation = NoTransferChecksum },
                        token), cancellationToken, filled);
                }
                return new StoredObject(key, sha256, filled);
            }
            return await PutInBlocksAsync(tenantId, content, buffer, filled, hash, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The staged path; <paramref name="buffer"/> holds the first block (<paramref name="filled"/> bytes, already hashed).</summary>
    private async Task<StoredObject> PutInBlocksAsync(
        Guid tenantId, Stream content, byte[] buffer, int filled, IncrementalHash hash, CancellationToken cancellationToken)
    {
        var staging = container.GetBlockBlobClient(ObjectKeys.Staging(prefix, tenantId));
        var blocks = new List<string>();
        long length = 0;
        try
        {
            while (filled > 0)
            {
                var blockId = Convert.ToBase64String(BitConverter.GetBytes(blocks.Count));
                await CallAsync(token => staging.StageBlockAsync(blockId, new MemoryStream(buffer, 0, filled, writable: false),
                    new BlockBlobStageBlockOptions { TransferValidation = NoTransferChecksum }, token), cancellationToken, filled);
                blocks.Add(blockId);
                length += filled;
                filled = await StreamFill.FillAsync(content, buffer.AsMemory(0, blockSize), cancellationToken);
                hash.AppendData(buffer, 0, filled);
            }
            await CallAsync(token => staging.CommitBlockListAsync(blocks, cancellationToken: token), cancellationToken);

            var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
            var key = ObjectKeys.Content(prefix, tenantId, sha256);
            if (await GetInfoAsync(key, cancellationToken) is not { } existing || existing.Length != length)
            {
                var copy = await CallAsync(token => container.GetBlobClient(key).StartCopyFromUriAsync(
                    staging.Uri, new BlobCopyFromUriOptions { Metadata = Metadata(sha256) }, token), cancellationToken);
                // The service copies at its own pace: time in proportion to the object.
                await CallAsync(async token => await copy.WaitForCompletionAsync(token), cancellationToken, length);
            }
            return new StoredObject(key, sha256, length);
        }
        finally
        {
            await staging.DeleteIfExistsAsync(cancellationToken: CancellationToken.None);
        }
    }

    public async Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken)
    {
        try
        {
            var download = await CallAsync(token => container.GetBlobClient(key).DownloadStreamingAsync(
                new BlobDownloadOptions { Range = new HttpRange(offset, length) }, token), cancellationToken);
            return download.Value.Content;
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            throw new TierObjectNotFoundException(key);
        }
    }

    public async Task<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var properties = await CallAsync(token => container.GetBlobClient(key).GetPropertiesAsync(cancellationToken: token), cancellationToken);
            var sha256 = properties.Value.Metadata.TryGetValue(ObjectKeys.MetadataSha256.Replace('-', '_'), out var recorded) ? recorded : ObjectKeys.Sha256Of(key);
            return sha256 is null ? null : new StoredObject(key, sha256, properties.Value.ContentLength);
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(Guid tenantId, string? startAfter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Blob listings come in ascending order of name; the service has no "start after", so names up to it are passed over.
        await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions { Prefix = ObjectKeys.TenantPrefix(prefix, tenantId) }, cancellationToken))
        {
            if (startAfter is not null && string.CompareOrdinal(blob.Name, startAfter) <= 0)
            {
                continue;
            }
            if (ObjectKeys.Sha256Of(blob.Name) is { } sha256)
            {
                yield return new StoredObject(blob.Name, sha256, blob.Properties.ContentLength ?? 0) { Modified = blob.Properties.LastModified };
            }
        }
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        CallAsync(token => container.GetBlobClient(key).DeleteIfExistsAsync(cancellationToken: token), cancellationToken);

    /// <summary>One request: the service deletes the blob only if it was not modified since the cut-off (412 otherwise).</summary>
    public async Task<ReclaimOutcome> DeleteUnlessModifiedSinceAsync(string key, DateTimeOffset before, CancellationToken cancellationToken)
    {
        try
        {
            var deleted = await CallAsync(token => container.GetBlobClient(key).DeleteIfExistsAsync(DeleteSnapshotsOption.None,
                new BlobRequestConditions { IfUnmodifiedSince = before.AddSeconds(-1) }, token), cancellationToken);
            return deleted.Value ? ReclaimOutcome.Deleted : ReclaimOutcome.Absent;
        }
        catch (RequestFailedException exception) when (exception.Status == 412)
        {
            return ReclaimOutcome.Newer;
        }
    }

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (!_containerChecked)
        {
            await CallAsync(token => container.CreateIfNotExistsAsync(cancellationToken: token), cancellationToken);
            _containerChecked = true;
        }
    }

    // Blob metadata names must be C# identifiers: the hyphen of our name becomes an underscore.
    private static Dictionary<string, string> Metadata(string sha256) => new() { [ObjectKeys.MetadataSha256.Replace('-', '_')] = sha256 };

    /// <summary>
    /// One request, given <see cref="_answerLimit"/> to be answered (with a body of
    /// <paramref name="bodyBytes"/>). A missing blob (404) and a failed condition (412) are the
    /// caller's to read; any other failure of the store, and its silence, is
    /// <see cref="TierStoreUnavailableException"/>.
    /// </summary>
    private async Task<T> CallAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken, long bodyBytes = 0)
    {
        try
        {
            return await _answerLimit.RunAsync("Azure Blob store", call, cancellationToken, bodyBytes);
        }
        catch (RequestFailedException exception) when (exception.Status is not (404 or 412))
        {
            throw Unavailable(exception);
        }
        catch (Exception exception) when (exception is HttpRequestException or AggregateException)
        {
            throw Unavailable(exception);
        }
    }

    private static TierStoreUnavailableException Unavailable(Exception exception) =>
        new($"the Azure Blob store did not answer as expected: {exception.Message}", exception);
}
