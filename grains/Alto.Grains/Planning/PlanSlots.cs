using Microsoft.Extensions.Options;

namespace Alto.Grains.Planning;

/// <summary>The silo's plan slots (<see cref="PlannerOptions.MaxConcurrentPlans"/>): a host's plan or preview holds one while it runs.</summary>
public sealed class PlanSlots(IOptions<PlannerOptions> options) : WorkSlots(options.Value.MaxConcurrentPlans);
