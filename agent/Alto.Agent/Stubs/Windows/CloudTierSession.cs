using System.Runtime.Versioning;
using Alto.Tiering;

namespace Alto.Agent.Stubs.Windows;

/// <summary>
/// The Windows stub driver for the life of <c>alto-agent run</c>: the EaseFilter CloudTier filter
/// connected with the license key (<c>ALTO_CLOUDTIER_LICENSE</c>, else the file
/// <c>cloudtier.license</c> in the state folder, which the install script writes), answering every
/// restore request until the agent stops.
/// </summary>
[SupportedOSPlatform("windows")]
public sealed class CloudTierSession : IDisposable
{
    public const string LicenseVariable = "ALTO_CLOUDTIER_LICENSE";
    public const string LicenseFile = "cloudtier.license";

    private CloudTierSession(CloudTierStubDriver driver) => Driver = driver;

    public CloudTierStubDriver Driver { get; }

    /// <summary>The connected driver, or null with the reason when there is no license or no driver to connect to.</summary>
    public static CloudTierSession? TryStart(
        string stateDirectory, Func<Guid, ITierStore> stores, RecallCluster cluster, TimeSpan? stallLimit, out string? whyNot)
    {
        var license = Environment.GetEnvironmentVariable(LicenseVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment
            : File.Exists(Path.Combine(stateDirectory, LicenseFile)) ? File.ReadAllText(Path.Combine(stateDirectory, LicenseFile)).Trim()
            : null;
        if (license is null)
        {
            whyNot = $"no EaseFilter CloudTier license key ({LicenseVariable}, or {LicenseFile} in the state folder): stubs are neither made nor recalled";
            return null;
        }
        var driver = new CloudTierStubDriver(new CloudTierNative(license), stores, Path.Combine(stateDirectory, "recall-cache"), cluster, stallLimit);
        try
        {
            driver.Connect();
        }
        catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException or IOException or InvalidOperationException)
        {
            whyNot = $"the EaseFilter CloudTier driver could not be reached (FilterAPI.dll beside alto-agent.exe, cloudtier.sys installed and loaded?): {exception.Message}";
            return null;
        }
        whyNot = null;
        return new CloudTierSession(driver);
    }

    public void Dispose() => Driver.Disconnect();
}
