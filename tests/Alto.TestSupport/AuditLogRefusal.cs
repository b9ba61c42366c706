namespace Alto.TestSupport;

/// <summary>
/// Makes the audit log refuse some entries — one tenant's, or those a condition picks — inside
/// PostgreSQL (a row trigger raising lock_not_available, as a lock the insert could not take
/// would), until disposed: a database that takes everything else but not those audit entries.
/// </summary>
public sealed class AuditLogRefusal : IAsyncDisposable
{
    private readonly TestDatabase _database;
    private readonly string _name;

    private AuditLogRefusal(TestDatabase database, string name) => (_database, _name) = (database, name);

    public static Task<AuditLogRefusal> StartAsync(TestDatabase database, Guid tenantId) => StartAsync(database, $"NEW.tenant_id = '{tenantId}'");

    /// <summary>Refuses the entries for which <paramref name="condition"/> (SQL over the row NEW) holds.</summary>
    public static async Task<AuditLogRefusal> StartAsync(TestDatabase database, string condition)
    {
        var name = "refuse_" + Guid.NewGuid().ToString("N");
        await database.ExecuteAsync($"""
            CREATE FUNCTION alto.{name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                IF {condition} THEN
                    RAISE EXCEPTION 'the audit log is held by the test' USING ERRCODE = 'lock_not_available';
                END IF;
                RETURN NEW;
            END $fn$;
            CREATE TRIGGER {name} BEFORE INSERT ON alto.audit_log FOR EACH ROW EXECUTE FUNCTION alto.{name}();
            """);
        return new AuditLogRefusal(database, name);
    }

    public async ValueTask DisposeAsync() =>
        await _database.ExecuteAsync($"DROP TRIGGER IF EXISTS {_name} ON alto.audit_log; DROP FUNCTION IF EXISTS alto.{_name}();");
}
