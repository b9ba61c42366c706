using Npgsql;

namespace Alto.Grains;

/// <summary>
/// Tells a database failure of the moment — worth trying again — from one of the work itself, which
/// would fail again however often tried.
/// </summary>
public static class DatabaseOutage
{
    /// <summary>
    /// An outage: the server out of reach or short of resources (Npgsql's transient failures), the
    /// connection lost, a client-side timeout — and a statement cancelled or a server shutting down
    /// (class 57, operator intervention: a statement timeout, an operator's pg_cancel_backend), which
    /// Npgsql does not count as transient but which says nothing about the work.
    /// </summary>
    public static bool Is(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.IsTransient || postgres.SqlState.StartsWith("57", StringComparison.Ordinal),
        NpgsqlException or TimeoutException => true,
        _ => false,
    };
}
