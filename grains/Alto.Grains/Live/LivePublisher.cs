using System.Diagnostics.Metrics;
using System.Text.Json;
using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Live;
using Alto.GrainInterfaces.Scans;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Streams;

namespace Alto.Grains.Live;

/// <summary>
/// Puts live events on the cluster-wide stream. A live view is a convenience, never a reason for
/// the work it reports to fail: an event that cannot go out is dropped, counted
/// (alto.live.events_dropped) and logged, and the caller carries on.
/// </summary>
public sealed partial class LivePublisher
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly ILogger<LivePublisher> _logger;
    private readonly Counter<long> _published;
    private readonly Counter<long> _dropped;
    private IAsyncStream<LiveEvent>? _stream;

    public LivePublisher(IServiceProvider services, TimeProvider time, IMeterFactory meters, ILogger<LivePublisher> logger)
    {
        _services = services;
        _time = time;
        _logger = logger;
        var meter = meters.Create(AltoMeter.Name);
        _published = meter.CreateCounter<long>("alto.live.events_published", "{event}", "Live events put on the stream for the consoles, by kind");
        _dropped = meter.CreateFailureCounter("alto.live.events_dropped", "{event}", "Live events that could not be put on the stream, by kind");
    }

    public async Task PublishAsync(Guid tenantId, string kind, LiveAudience audience, object data, Guid? hostId = null)
    {
        var tags = new KeyValuePair<string, object?>[] { AltoMeter.Tenant(tenantId), new("kind", kind) };
        try
        {
            _stream ??= _services.GetRequiredKeyedService<IStreamProvider>(StreamNames.Provider).GetStream<LiveEvent>(StreamId.Create(LiveStream.Namespace, LiveStream.Key));
            await _stream.OnNextAsync(new LiveEvent(tenantId, kind, audience, _time.GetUtcNow(), hostId, JsonSerializer.Serialize(data, Json)));
            _published.Add(1, tags);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            _dropped.Add(1, tags);
            LogDropped(_logger, exception, kind, tenantId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Live event {Kind} of tenant {TenantId} was dropped: the stream did not take it")]
    private static partial void LogDropped(ILogger logger, Exception exception, string kind, Guid tenantId);
}
