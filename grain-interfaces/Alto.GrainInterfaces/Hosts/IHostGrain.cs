using Alto.GrainInterfaces.Common;

namespace Alto.GrainInterfaces.Hosts;

/// <summary>One file server running an agent. Keyed by host id (a GUID string).</summary>
[Alias("Alto.IHostGrain")]
public interface IHostGrain : IGrainWithStringKey
{
    [Alias("RegisterAsync")]
    Task<CommandResult<HostRegistration>> RegisterAsync(RegisterHost command);

    [Alias("GetAsync")]
    Task<HostInfo?> GetAsync();
}
