namespace Alto.Gateway.Extensions;

/// <summary>
/// Headers every answer carries: no content sniffing, no framing, no referrer, a strict content
/// security policy (the dashboard and the API reference page, which bring their own scripts,
/// get the framing and sniffing rules only), and HSTS when the request came over HTTPS.
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
        if (context.Request.IsHttps)
        {
            headers.StrictTransportSecurity = "max-age=31536000; includeSubDomains";
        }
        return next(context);
    }
}
