namespace Alto.TestSupport;

/// <summary>
/// Makes the audit log refuse some entries — one tenant's, or those a condition picks — until
/// disposed (<see cref="InsertRefusal"/> on alto.audit_log): a database that takes everything else
/// but not those audit entries.
/// </summary>
public static class AuditLogRefusal
{
    public static Task<InsertRefusal> StartAsync(TestDatabase database, Guid tenantId) => StartAsync(database, $"NEW.tenant_id = '{tenantId}'");

    /// <summary>Refuses the entries for which <paramref name="condition"/> (SQL over the row NEW) holds.</summary>
    public static Task<InsertRefusal> StartAsync(TestDatabase database, string condition) => InsertRefusal.StartAsync(database, "alto.audit_log", condition);
}
