using System.Net.Sockets;
using Alto.GrainInterfaces.Common;
using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace Alto.Gateway.Errors;

/// <summary>
/// A request that fails because PostgreSQL or the cluster cannot be reached is answered 503 with
/// Retry-After, as problem details saying which, not 500: the client did nothing wrong and may
/// simply try again. Each is logged (once per request) and counted in /metrics.
/// </summary>
public sealed partial class UnavailableExceptionHandler(
    IProblemDetailsService problems, System.Diagnostics.Metrics.IMeterFactory meters, ILogger<UnavailableExceptionHandler> logger) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    private readonly System.Diagnostics.Metrics.Counter<long> _unavailable = System.Diagnostics.Metrics.MeterFactoryExtensions.Create(meters, AltoMeter.Name)
        .CreateFailureCounter("alto.api.unavailable", "{request}", "API requests answered 503 because the database or the cluster could not be reached");

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (WhatIsUnavailable(exception) is not { } what)
        {
            return false;
        }
        LogUnavailable(logger, what, httpContext.Request.Path, exception.GetBaseException().Message);
        _unavailable.Add(1, new KeyValuePair<string, object?>("cause", what == Database ? "database" : "cluster"));
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Service unavailable",
                Detail = $"{what} cannot be reached right now; nothing was changed. Try again in a few seconds.",
            },
        });
    }

    private const string Database = "The database";

    /// <summary>"The database" or "The cluster" when that is why the request failed; null for any other failure.</summary>
    public static string? WhatIsUnavailable(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case NpgsqlException { IsTransient: true }:
                case NpgsqlException when current.GetBaseException() is SocketException or TimeoutException or IOException:
                // A statement cancelled (a statement timeout, an operator's pg_cancel_backend) rolled back whole: the moment's failure, not the request's.
                case PostgresException { SqlState: PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.CrashShutdown
                                                   or PostgresErrorCodes.QueryCanceled }:
                    return Database;
                case SiloUnavailableException:
                case OrleansMessageRejectionException:
                    return "The cluster";
            }
        }
        return null;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{What} is unavailable; {Path} was answered 503: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string what, string path, string reason);
}
