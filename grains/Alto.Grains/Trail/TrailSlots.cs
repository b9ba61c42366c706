using Microsoft.Extensions.Options;

namespace Alto.Grains.Trail;

/// <summary>The silo's trail slots (<see cref="TrailOptions.MaxConcurrentBatches"/>): a staged batch holds one while it is applied.</summary>
public sealed class TrailSlots(IOptions<TrailOptions> options) : WorkSlots(options.Value.MaxConcurrentBatches);
