namespace Alto.Grains.Persistence;

/// <summary>Names of Orleans storage providers and grain states, kept in one place.</summary>
public static class StorageNames
{
    /// <summary>The ADO.NET grain storage on PostgreSQL.</summary>
    public const string Grains = "alto";

    public const string TenantState = "tenant";

    public const string HostState = "host";
}
