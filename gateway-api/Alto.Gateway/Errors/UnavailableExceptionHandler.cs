using System.Net.Sockets;
using Alto.GrainInterfaces.Common;
using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace Alto.Gateway.Errors;

/// <summary>
/// A request that fails because PostgreSQL or the cluster cannot be reached is answered 503 with
/// Retry-After, as problem details saying which, not 500: the client did nothing wrong and may
/// simply try again. So is one whose grain call took longer than the cluster's call timeout, but
/// saying that it may still complete (Orleans does not cancel the call). Each is logged (once per
/// request) and counted in /metrics by cause (database, cluster, timeout).
/// </summary>
public sealed partial class UnavailableExceptionHandler(
    IProblemDetailsService problems, System.Diagnostics.Metrics.IMeterFactory meters, ILogger<UnavailableExceptionHandler> logger) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    private readonly System.Diagnostics.Metrics.Counter<long> _unavailable = System.Diagnostics.Metrics.MeterFactoryExtensions.Create(meters, AltoMeter.Name)
        .CreateFailureCounter("alto.api.unavailable", "{request}", "API requests answered 503 because the database or the cluster could not be reached");

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (CauseOf(exception) is not { } cause)
        {
            return false;
        }
        var timedOut = cause == TimeoutCause;
        if (timedOut)
        {
            LogTimedOut(logger, httpContext.Request.Path, exception.GetBaseException().Message);
        }
        else
        {
            LogUnavailable(logger, WhatIsUnavailable(exception)!, httpContext.Request.Path, exception.GetBaseException().Message);
        }
        _unavailable.Add(1, new KeyValuePair<string, object?>("cause", cause));
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
                Detail = exception is UnrecordedChangeException unrecorded
                    ? $"{unrecorded.Message} {WhatIsUnavailable(exception)} could not be reached just after."
                    : timedOut
                    ? "The cluster did not finish the request in time (Alto:Cluster:CallTimeoutSeconds); it may still complete. Look before you try it again."
                    : $"{WhatIsUnavailable(exception)} cannot be reached right now; nothing was changed. Try again in a few seconds.",
            },
        });
    }

    private const string Database = "The database";

    /// <summary>The cause of a failure that is the moment's, not the request's.</summary>
    public const string TimeoutCause = "timeout";

    /// <summary>
    /// Why a request or an agent's message failed when it is the moment's failure, not its own:
    /// "database", "cluster" (unreachable) or <see cref="TimeoutCause"/> (a grain call outlasted
    /// the call timeout, and may still complete); null for any other failure.
    /// </summary>
    public static string? CauseOf(Exception exception) =>
        WhatIsUnavailable(exception) is { } what ? (what == Database ? "database" : "cluster")
        : IsCallTimeout(exception) ? TimeoutCause
        : null;

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

    /// <summary>
    /// Whether a grain call took longer than the call timeout: a <see cref="TimeoutException"/>
    /// that is not the database's own (a connection or command timeout counts as the database's).
    /// </summary>
    private static bool IsCallTimeout(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case NpgsqlException:
                    return false;
                case TimeoutException:
                    return true;
            }
        }
        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The cluster did not finish {Path} in time; it was answered 503: {Reason}")]
    private static partial void LogTimedOut(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{What} is unavailable; {Path} was answered 503: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string what, string path, string reason);
}
