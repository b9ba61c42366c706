using System.Collections.Concurrent;
using Alto.Agent.Stubs;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Connection;

/// <summary>
/// Asks the cluster about each stub before it is recalled (<see cref="StubTrust"/>). A refusal is
/// remembered for a while: a program opening a refused file again and again is answered at once,
/// without a request (and an audit entry) each time. The cluster not answering is counted and logged.
/// </summary>
public sealed partial class ClusterStubCheck(GatewayClient gateway, ILogger logger, TimeProvider? time = null)
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan RefusalRemembered = TimeSpan.FromSeconds(30);

    private const int MaxRemembered = 10_000;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<(string Path, string Locator), (StubAnswer Answer, DateTimeOffset Until)> _refused = new();
    private long _unconfirmed;

    /// <summary>Recalls that went ahead on the stub's binding alone because the cluster did not answer.</summary>
    public long Unconfirmed => Interlocked.Read(ref _unconfirmed);

    public async Task<StubAnswer> CheckAsync(StubQuestion question, CancellationToken cancellationToken)
    {
        var key = (question.Path, question.Locator);
        if (_refused.TryGetValue(key, out var remembered) && remembered.Until > _time.GetUtcNow())
        {
            return remembered.Answer;
        }
        var answer = await gateway.CheckStubAsync(question, Patience, cancellationToken);
        switch (answer.Verdict)
        {
            case StubVerdict.Refused:
                if (_refused.Count >= MaxRemembered)
                {
                    _refused.Clear();
                }
                _refused[key] = (answer, _time.GetUtcNow() + RefusalRemembered);
                break;
            case StubVerdict.Unreachable:
                Interlocked.Increment(ref _unconfirmed);
                LogUnconfirmed(logger, question.Path, answer.Reason ?? "no answer");
                break;
        }
        return answer;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The cluster could not be asked about the stub {Path} ({Reason}); a bound stub is recalled on its binding alone, a version-1 stub waits")]
    private static partial void LogUnconfirmed(ILogger logger, string path, string reason);
}
