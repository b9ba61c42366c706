using System.Buffers;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Alto.Tiering;

/// <summary>
/// Tier 2 in an S3 bucket (AWSSDK.S3). Content that fits one part goes straight to its content
/// address with its SHA-256 in the object's metadata. Larger content is uploaded in parts to a
/// staging key while it is hashed, then copied server-side to its content address (with the
/// metadata) and the staging object removed. Checksums and chunked encoding are only used when
/// the service requires them: S3-compatible servers differ there, and Alto verifies every
/// object with its own SHA-256 by reading it back, never by ETag.
/// </summary>
public sealed class S3TierStore(
    IAmazonS3 s3, string bucket, string prefix = "", int partSize = S3TierStore.DefaultPartSize, TimeSpan? answerLimit = null) : ITierStore
{
    public const int DefaultPartSize = 16 << 20;

    /// <summary>How long each request may go unanswered (<see cref="AnswerLimit"/>).</summary>
    private readonly AnswerLimit _answerLimit = AnswerLimit.Of(answerLimit);
    private const string MetadataHeader = "x-amz-meta-" + ObjectKeys.MetadataSha256;

    public string Kind => "s3";

    public static IAmazonS3 CreateClient(string? endpoint, string? region, bool forcePathStyle, string? accessKeyId, string? secretAccessKey)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = forcePathStyle,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (endpoint is { Length: > 0 })
        {
            config.ServiceURL = endpoint;
            config.AuthenticationRegion = region is { Length: > 0 } ? region : "us-east-1";
        }
        else if (region is { Length: > 0 })
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
        }
        config.MaxErrorRetry = 3;
        return new AltoS3Client(accessKeyId is { Length: > 0 } ? new BasicAWSCredentials(accessKeyId, secretAccessKey) : null, config);
    }

    public async Task<StoredObject> PutAsync(Guid tenantId, Stream content, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(partSize);
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var filled = await StreamFill.FillAsync(content, buffer.AsMemory(0, partSize), cancellationToken);
            hash.AppendData(buffer, 0, filled);
            if (filled < partSize)
            {
                var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
                var key = ObjectKeys.Content(prefix, tenantId, sha256);
                if (await GetInfoAsync(key, cancellationToken) is not { } existing || existing.Length != filled)
                {
                    await CallAsync(token => s3.PutObjectAsync(Put(key, new MemoryStream(buffer, 0, filled, writable: false), sha256), token), cancellationToken, filled);
                }
                return new StoredObject(key, sha256, filled);
            }
            return await PutInPartsAsync(tenantId, content, buffer, filled, hash, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The multipart path; <paramref name="buffer"/> holds the first part (<paramref name="filled"/> bytes, already hashed).</summary>
    private async Task<StoredObject> PutInPartsAsync(
        Guid tenantId, Stream content, byte[] buffer, int filled, IncrementalHash hash, CancellationToken cancellationToken)
    {
        var staging = ObjectKeys.Staging(prefix, tenantId);
        var upload = await CallAsync(token => s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = bucket, Key = staging }, token), cancellationToken);
        var parts = new List<PartETag>();
        long length = 0;
        try
        {
            while (true)
            {
                var partNumber = parts.Count + 1;
                var response = await CallAsync(token => s3.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = bucket,
                    Key = staging,
                    UploadId = upload.UploadId,
                    PartNumber = partNumber,
                    PartSize = filled,
                    InputStream = new MemoryStream(buffer, 0, filled, writable: false),
                    UseChunkEncoding = false,
                }, token), cancellationToken, filled);
                parts.Add(new PartETag(partNumber, response.ETag));
                length += filled;
                filled = await StreamFill.FillAsync(content, buffer.AsMemory(0, partSize), cancellationToken);
                if (filled == 0)
                {
                    break;
                }
                hash.AppendData(buffer, 0, filled);
            }
            await CallAsync(token => s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = bucket,
                Key = staging,
                UploadId = upload.UploadId,
                PartETags = parts,
                // Completing may take minutes for a large object (S3 keeps the connection alive meanwhile): time in proportion.
            }, token), cancellationToken, length);
        }
        catch
        {
            await AbortQuietlyAsync(staging, upload.UploadId);
            throw;
        }

        var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
        var key = ObjectKeys.Content(prefix, tenantId, sha256);
        try
        {
            if (await GetInfoAsync(key, cancellationToken) is not { } existing || existing.Length != length)
            {
                var copy = new CopyObjectRequest
                {
                    SourceBucket = bucket,
                    SourceKey = staging,
                    DestinationBucket = bucket,
                    DestinationKey = key,
                    MetadataDirective = S3MetadataDirective.REPLACE,
                };
                copy.Metadata.Add(ObjectKeys.MetadataSha256, sha256);
                await CallAsync(token => s3.CopyObjectAsync(copy, token), cancellationToken, length);
            }
        }
        finally
        {
            await DeleteAsync(staging, CancellationToken.None);
        }
        return new StoredObject(key, sha256, length);
    }

    public async Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken)
    {
        var request = new GetObjectRequest { BucketName = bucket, Key = key };
        if (offset > 0 || length is not null)
        {
            request.ByteRange = length is { } bounded ? new ByteRange(offset, offset + bounded - 1) : new ByteRange($"bytes={offset}-");
        }
        try
        {
            var response = await CallAsync(token => s3.GetObjectAsync(request, token), cancellationToken);
            return response.ResponseStream;
        }
        catch (AmazonS3Exception exception) when (exception.StatusCode == HttpStatusCode.NotFound)
        {
            throw new TierObjectNotFoundException(key);
        }
    }

    public async Task<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var metadata = await CallAsync(token => s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key }, token), cancellationToken);
            var sha256 = metadata.Metadata[MetadataHeader] ?? ObjectKeys.Sha256Of(key);
            return sha256 is null ? null : new StoredObject(key, sha256, metadata.ContentLength);
        }
        catch (AmazonS3Exception exception) when (exception.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(Guid tenantId, string? startAfter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // S3 lists keys in ascending order of their UTF-8 bytes, which for our ASCII keys is ordinal order.
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = ObjectKeys.TenantPrefix(prefix, tenantId), StartAfter = startAfter };
        while (true)
        {
            var page = await CallAsync(token => s3.ListObjectsV2Async(request, token), cancellationToken);
            foreach (var item in page.S3Objects ?? [])
            {
                if (ObjectKeys.Sha256Of(item.Key) is { } sha256)
                {
                    yield return new StoredObject(item.Key, sha256, item.Size ?? 0) { Modified = item.LastModified is { } modified ? new DateTimeOffset(modified.ToUniversalTime()) : null };
                }
            }
            if (page.IsTruncated != true)
            {
                yield break;
            }
            request.ContinuationToken = page.NextContinuationToken;
        }
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        CallAsync(token => s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = bucket, Key = key }, token), cancellationToken);

    /// <summary>
    /// Looks at the object's time, then deletes it. S3 has no delete conditional on time (and an
    /// upload of the same content has the same ETag), so an upload landing between the two requests
    /// could lose its object: the window is one round trip, and the grace period makes it matter
    /// only for content first stored longer ago than that.
    /// </summary>
    public async Task<ReclaimOutcome> DeleteUnlessModifiedSinceAsync(string key, DateTimeOffset before, CancellationToken cancellationToken)
    {
        GetObjectMetadataResponse metadata;
        try
        {
            metadata = await CallAsync(token => s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key }, token), cancellationToken);
        }
        catch (AmazonS3Exception exception) when (exception.StatusCode == HttpStatusCode.NotFound)
        {
            return ReclaimOutcome.Absent;
        }
        if (metadata.LastModified is not { } modified || new DateTimeOffset(modified.ToUniversalTime()) >= before)
        {
            return ReclaimOutcome.Newer;
        }
        await DeleteAsync(key, cancellationToken);
        return ReclaimOutcome.Deleted;
    }

    private PutObjectRequest Put(string key, Stream body, string sha256)
    {
        var put = new PutObjectRequest { BucketName = bucket, Key = key, InputStream = body, UseChunkEncoding = false, AutoCloseStream = true };
        put.Metadata.Add(ObjectKeys.MetadataSha256, sha256);
        return put;
    }

    private async Task AbortQuietlyAsync(string key, string uploadId)
    {
        try
        {
            await s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = uploadId });
        }
        catch (Exception exception) when (exception is AmazonServiceException or HttpRequestException)
        {
            // Some S3-compatible servers lack abort; a leftover staging upload is found by reconciliation.
        }
    }

    /// <summary>
    /// One request, given <see cref="_answerLimit"/> to be answered (with a body of
    /// <paramref name="bodyBytes"/>): without it, a PUT to an endpoint that never answers was
    /// still waiting after 15 minutes. Failures of the store, and its silence, are
    /// <see cref="TierStoreUnavailableException"/>.
    /// </summary>
    private async Task<T> CallAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken, long bodyBytes = 0)
    {
        try
        {
            return await _answerLimit.RunAsync("S3 store", call, cancellationToken, bodyBytes);
        }
        catch (AmazonS3Exception exception) when (exception.StatusCode == HttpStatusCode.NotFound)
        {
            throw;
        }
        catch (Exception exception) when (exception is AmazonServiceException or HttpRequestException)
        {
            throw Unavailable(exception);
        }
    }

    private async Task CallAsync(Func<CancellationToken, Task> call, CancellationToken cancellationToken) => await CallAsync(async token =>
    {
        await call(token);
        return true;
    }, cancellationToken);

    private static TierStoreUnavailableException Unavailable(Exception exception) =>
        new($"the S3 store did not answer as expected: {exception.Message}", exception);
}
