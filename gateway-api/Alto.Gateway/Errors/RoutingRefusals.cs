namespace Alto.Gateway.Errors;

/// <summary>
/// When a path matched but the request cannot be served there — a body of a type the endpoint does
/// not read, a method it does not take — routing picks an endpoint of its own that only answers 415
/// or 405. That endpoint carries no authorization of its own, so the fallback policy (a signed-in
/// user) answered an agent's valid host credential with 401, naming the wrong problem. It is
/// answered before authorization instead, saying what is wrong: it reveals nothing the API
/// reference does not, and it changes nothing.
/// </summary>
public static class RoutingRefusals
{
    // The display names ASP.NET Core's matcher policies give the endpoints they make (AcceptsMatcherPolicy,
    // HttpMethodMatcherPolicy); RoutingRefusalTests pins them, so a framework that renames them is noticed.
    public const string UnsupportedMediaType = "415 HTTP Unsupported Media Type";
    public const string MethodNotAllowed = "405 HTTP Method Not Supported";

    public static async Task AnswerBeforeAuthorizationAsync(HttpContext context, RequestDelegate next)
    {
        if (context.GetEndpoint() is not { DisplayName: UnsupportedMediaType or MethodNotAllowed, RequestDelegate: { } answer } endpoint)
        {
            await next(context);
            return;
        }
        // The framework's own answer sets the status (and, for 405, the Allow header); the body says why.
        await answer(context);
        var type = context.Request.ContentType ?? "none";
        var detail = endpoint.DisplayName == UnsupportedMediaType
            ? $"this endpoint does not read a body of type '{(type.Length > 100 ? type[..100] + "…" : type)}' (JSON bodies are sent as application/json; see the API reference)"
            : $"this path does not take {context.Request.Method} (see the API reference)";
        await TypedResults.Problem(detail, statusCode: context.Response.StatusCode).ExecuteAsync(context);
    }
}
