using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;

namespace Alto.Gateway.Errors;

/// <summary>
/// Turns a request the framework could not bind (malformed JSON, unknown fields, a non-number
/// where a number belongs, a body over the size limit) into a problem-details answer that says
/// what was wrong, instead of an empty 400.
/// </summary>
public sealed class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest)
        {
            return false;
        }

        var detail = badRequest.InnerException is JsonException json
            ? $"The body is not valid JSON for this request: {RequestRefusal.Describe(json)}"
            : RequestRefusal.DescribeBinding(badRequest.Message);
        httpContext.Response.StatusCode = badRequest.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = badRequest.StatusCode,
                Title = badRequest.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request body too large" : "The request is not valid",
                Detail = detail,
            },
        });
    }
}
