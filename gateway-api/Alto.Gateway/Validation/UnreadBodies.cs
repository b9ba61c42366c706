using System.Text;
using Microsoft.AspNetCore.Http.Metadata;

namespace Alto.Gateway.Validation;

/// <summary>
/// Refuses a body sent to an endpoint that reads none. The framework ignores it, so a caller who
/// sent settings there (<c>{"expiresInHours": 1}</c> to renew an enrollment token, a reason to
/// disable a tenant) was answered 200 as if they had been applied. An empty body, <c>{}</c> or
/// <c>null</c> says nothing and passes: HTTP clients send them with every POST.
/// </summary>
public static class UnreadBodies
{
    /// <summary>Marks an endpoint whose handler reads the request's body itself (a stream, not a bound parameter).</summary>
    public sealed class ReadByHandler;

    private const int Inspected = 1024;

    public static EndpointFilterDelegate RefuseWhereNoneIsRead(EndpointFilterFactoryContext context, EndpointFilterDelegate next) =>
        async invocation =>
        {
            // An endpoint that reads a body says so in its metadata: the framework's for a bound body, ours for a stream.
            var metadata = invocation.HttpContext.GetEndpoint()?.Metadata;
            var request = invocation.HttpContext.Request;
            if (metadata?.GetMetadata<IAcceptsMetadata>() is not null || metadata?.GetMetadata<ReadByHandler>() is not null
                || request.ContentLength is 0 || request.ContentLength is null && request.Headers.TransferEncoding.Count == 0)
            {
                return await next(invocation);
            }
            var buffer = new byte[Inspected + 1];
            var read = 0;
            int got;
            while (read < buffer.Length && (got = await request.Body.ReadAsync(buffer.AsMemory(read), invocation.HttpContext.RequestAborted)) > 0)
            {
                read += got;
            }
            if (read <= Inspected && string.Concat(Encoding.UTF8.GetString(buffer, 0, read).Where(c => !char.IsWhiteSpace(c))) is "" or "{}" or "null")
            {
                return await next(invocation);
            }
            return TypedResults.Problem("this endpoint reads no body: its input is its path and its query (see the API reference); nothing was changed",
                statusCode: StatusCodes.Status400BadRequest, title: "The request is not valid");
        };
}
