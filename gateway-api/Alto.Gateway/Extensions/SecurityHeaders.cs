namespace Alto.Gateway.Extensions;

/// <summary>
/// Headers every answer carries: no content sniffing, no framing, no referrer, a strict content
/// security policy (the dashboard and the API reference page, which bring their own scripts,
/// get the framing and sniffing rules only), HSTS when the request came over HTTPS, and
/// <c>Cache-Control: no-store</c> on the API's answers: they hold a tenant's data, which a browser
/// would otherwise keep in its cache on the admin's disk (a revision is revalidated with
/// If-None-Match instead, answered 304 while it holds).
/// </summary>
public static class SecurityHeaders
{
    public const string ContentSecurityPolicy = "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    public static Task ApplyAsync(HttpContext context, RequestDelegate next)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        if (!context.Request.Path.StartsWithSegments("/dashboard") && !context.Request.Path.StartsWithSegments("/api-reference"))
        {
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
        }
        if (context.Request.Path.StartsWithSegments("/api"))
        {
            headers.CacheControl = "no-store";
        }
        if (context.Request.IsHttps)
        {
            headers.StrictTransportSecurity = "max-age=31536000; includeSubDomains";
        }
        return next(context);
    }
}
