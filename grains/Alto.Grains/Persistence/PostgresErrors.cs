using Npgsql;

namespace Alto.Grains.Persistence;

internal static class PostgresErrors
{
    /// <summary>True when the statement broke a unique index, e.g. a name already taken.</summary>
    public static bool IsUniqueViolation(this PostgresException exception) =>
        exception.SqlState == PostgresErrorCodes.UniqueViolation;

    /// <summary>True when a foreign key refused the statement, e.g. a delete of a row others still name.</summary>
    public static bool IsForeignKeyViolation(this PostgresException exception) =>
        exception.SqlState == PostgresErrorCodes.ForeignKeyViolation;
}
