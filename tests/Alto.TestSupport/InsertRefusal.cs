namespace Alto.TestSupport;

/// <summary>
/// Makes one table refuse the rows a condition picks, inside PostgreSQL (a row trigger raising
/// lock_not_available, as a lock the insert could not take would), until disposed: a database that
/// takes everything else but not those rows.
/// </summary>
public sealed class InsertRefusal : IAsyncDisposable
{
    private readonly TestDatabase _database;
    private readonly string _table;
    private readonly string _name;

    private InsertRefusal(TestDatabase database, string table, string name) => (_database, _table, _name) = (database, table, name);

    /// <summary>
    /// Refuses the rows of <paramref name="table"/> for which <paramref name="condition"/> (SQL over
    /// the row NEW) holds, as they are inserted (or, with <paramref name="writes"/> "INSERT OR UPDATE",
    /// also as a row is changed: a grain's state write).
    /// </summary>
    public static async Task<InsertRefusal> StartAsync(TestDatabase database, string table, string condition, string writes = "INSERT")
    {
        var name = "refuse_" + Guid.NewGuid().ToString("N");
        await database.ExecuteAsync($"""
            CREATE FUNCTION alto.{name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                IF {condition} THEN
                    RAISE EXCEPTION 'the table {table} is held by the test' USING ERRCODE = 'lock_not_available';
                END IF;
                RETURN NEW;
            END $fn$;
            CREATE TRIGGER {name} BEFORE {writes} ON {table} FOR EACH ROW EXECUTE FUNCTION alto.{name}();
            """);
        return new InsertRefusal(database, table, name);
    }

    public async ValueTask DisposeAsync() =>
        await _database.ExecuteAsync($"DROP TRIGGER IF EXISTS {_name} ON {_table}; DROP FUNCTION IF EXISTS alto.{_name}();");
}
