using System.Reflection;
using Alto.Gateway.Errors;
using Alto.GrainInterfaces.Common;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace Alto.Gateway.Validation;

/// <summary>
/// Conditional changes (RFC 9110 §13.1.1) of a single resource — a rule, a storage target, a
/// tenant's policies, a host's settings, a reconciliation schedule, the prices. A read answers with the resource's revision as
/// its ETag; a change that sends it back in If-Match is made only if nobody changed the resource
/// since, and is otherwise refused with 412 and nothing changed. Without If-Match a change applies
/// as before. The comparison is made by the grain that owns the resource, in the same turn as the
/// change, so two admins racing cannot both pass it.
/// </summary>
public static class Preconditions
{
    public const string IfMatchHeader = "If-Match";

    /// <summary>
    /// Refuses a write precondition sent to an endpoint that does not evaluate it: If-Match where
    /// no change is conditional, If-Unmodified-Since anywhere, If-None-Match on a change (a
    /// <c>PUT</c> with <c>If-None-Match: *</c> means "only if it does not exist yet"). Ignored, it
    /// would leave its sender believing a change was made only if nobody else's came first. A read
    /// may carry If-None-Match: where the read has a revision it is evaluated (<see cref="TagsRevision(RouteHandlerBuilder)"/>),
    /// elsewhere the read is answered in full.
    /// </summary>
    public static EndpointFilterDelegate RefuseWhereNotTaken(EndpointFilterFactoryContext context, EndpointFilterDelegate next)
    {
        var takesIfMatch = context.MethodInfo.GetParameters()
            .Any(parameter => parameter.GetCustomAttribute<FromHeaderAttribute>()?.Name == IfMatchHeader);
        return invocation =>
        {
            var headers = invocation.HttpContext.Request.Headers;
            var method = invocation.HttpContext.Request.Method;
            var sent = headers.IfMatch.Count > 0 && !takesIfMatch ? IfMatchHeader
                : headers.IfUnmodifiedSince.Count > 0 ? HeaderNames.IfUnmodifiedSince
                : headers.IfNoneMatch.Count > 0 && !HttpMethods.IsGet(method) && !HttpMethods.IsHead(method) ? HeaderNames.IfNoneMatch
                : null;
            return sent is null
                ? next(invocation)
                : ValueTask.FromResult<object?>(ApiProblems.Invalid(sent, takesIfMatch
                    ? $"this endpoint takes If-Match with the ETag of a read, not {sent}; nothing was changed"
                    : $"this endpoint makes no change conditionally and does not take {sent}; nothing was changed"));
        };
    }

    /// <summary>
    /// Answers each successful read or change of the endpoint with the resource's revision as a
    /// strong ETag. A read whose If-None-Match holds the revision (or <c>*</c>) is answered 304 with
    /// the tag and no body, as RFC 9110 §13.1.2 has it: a client polling a rule or a target learns
    /// that it is unchanged without its body.
    /// </summary>
    public static RouteHandlerBuilder TagsRevision(this RouteHandlerBuilder endpoint) => endpoint.Tags<object>(resource => resource, answersNotModified: true);

    /// <summary>
    /// The same, the revision taken of what <paramref name="revised"/> picks of the resource (what
    /// an admin sets, not what moves alone). The answer holds more than the revision covers (a
    /// host's status and heartbeats), so a read is always answered in full, never 304.
    /// </summary>
    public static RouteHandlerBuilder TagsRevision<T>(this RouteHandlerBuilder endpoint, Func<T, object> revised) => endpoint.Tags(revised, answersNotModified: false);

    private static RouteHandlerBuilder Tags<T>(this RouteHandlerBuilder endpoint, Func<T, object> revised, bool answersNotModified)
    {
        endpoint.Add(builder =>
        {
            if (answersNotModified && builder.Metadata.OfType<IHttpMethodMetadata>().Any(methods => methods.HttpMethods.Contains(HttpMethods.Get)))
            {
                builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status304NotModified));
            }
        });
        return endpoint.AddEndpointFilter(async (invocation, next) =>
        {
            var result = await next(invocation);
            var answer = result is INestedHttpResult nested ? nested.Result : result;
            if (answer is IValueHttpResult { Value: T resource } and IStatusCodeHttpResult { StatusCode: StatusCodes.Status200OK or StatusCodes.Status201Created })
            {
                var tag = new EntityTagHeaderValue($"\"{Revision.Of(revised(resource))}\"");
                var http = invocation.HttpContext;
                http.Response.Headers.ETag = tag.ToString();
                if (answersNotModified && HttpMethods.IsGet(http.Request.Method) && Holds(http.Request.Headers.IfNoneMatch, tag))
                {
                    return TypedResults.StatusCode(StatusCodes.Status304NotModified);
                }
            }
            return result;
        });
    }

    /// <summary>
    /// Whether an If-None-Match names the current tag (weakly compared, as the RFC has it for this
    /// header) or is <c>*</c>. A header that is not a list of tags holds nothing: the read is
    /// answered in full, which a client can always use.
    /// </summary>
    private static bool Holds(Microsoft.Extensions.Primitives.StringValues ifNoneMatch, EntityTagHeaderValue current) =>
        ifNoneMatch.Count > 0
        && EntityTagHeaderValue.TryParseStrictList(ifNoneMatch, out var tags)
        && tags.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(current, useStrongComparison: false));

    /// <summary>
    /// The revisions If-Match allows, or null for no precondition (no header); <c>*</c> is
    /// <see cref="Revision.Any"/>: the resource exists, whatever its revision — which tells a
    /// replacement from a creation where a PUT may be either (a reconciliation schedule). A weak
    /// tag never matches, as the RFC's strong comparison has it; a header that is not a list of
    /// quoted tags is a field error.
    /// </summary>
    /// <remarks>Bound as one string (header lines joined by commas): the framework's list binding unquotes the tags.</remarks>
    public static string[]? IfMatch(RequestErrors errors, string? header)
    {
        if (string.IsNullOrEmpty(header))
        {
            return null;
        }
        if (!EntityTagHeaderValue.TryParseStrictList([header], out var tags) || tags.Count == 0)
        {
            errors.Add(IfMatchHeader, "If-Match takes the ETag a read of this resource answered (a quoted tag such as \"Jq0…\"), several separated by commas, or *");
            return null;
        }
        return tags.Any(tag => tag.Equals(EntityTagHeaderValue.Any))
            ? [Revision.Any]
            : [.. tags.Where(tag => !tag.IsWeak).Select(tag => tag.Tag.Value!.Trim('"'))];
    }
}
