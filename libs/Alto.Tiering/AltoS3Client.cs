using Amazon.Runtime;
using Amazon.Runtime.Internal;
using Amazon.S3;

namespace Alto.Tiering;

/// <summary>
/// The S3 client with one addition: the copy source of a server-side copy keeps its slashes
/// (the SDK sends them as %2F). S3 takes either spelling; S3-compatible servers such as s3rver
/// split the header on '/' and find no bucket otherwise.
/// </summary>
internal sealed class AltoS3Client(AWSCredentials? credentials, AmazonS3Config config) : AmazonS3Client(credentials, config)
{
    protected override void CustomizeRuntimePipeline(RuntimePipeline pipeline)
    {
        base.CustomizeRuntimePipeline(pipeline);
        pipeline.AddHandlerAfter<Marshaller>(new CopySourceSlashes());
    }

    private sealed class CopySourceSlashes : PipelineHandler
    {
        private const string Header = "x-amz-copy-source";

        public override Task<T> InvokeAsync<T>(IExecutionContext executionContext)
        {
            var headers = executionContext.RequestContext.Request.Headers;
            if (headers.TryGetValue(Header, out var source))
            {
                headers[Header] = source.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
            }
            return base.InvokeAsync<T>(executionContext);
        }
    }
}
