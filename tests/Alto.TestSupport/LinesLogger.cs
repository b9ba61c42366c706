using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Alto.TestSupport;

/// <summary>
/// Log lines of the components a test runs in its own process, each named by who wrote it and
/// timed from the test's start, kept to be shown with the test's result. Kept rather than written
/// at once: a component's background thread may log after the test ended, when its output is closed.
/// </summary>
public sealed class LinesLogger
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly Stopwatch _since = Stopwatch.StartNew();

    public IEnumerable<string> Lines => _lines;

    public ILogger For(string who) => new Named(this, who);

    private sealed class Named(LinesLogger lines, string who) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines._lines.Enqueue($"{lines._since.Elapsed.TotalSeconds,8:0.000} {who} {logLevel}: {formatter(state, exception)}{(exception is null ? "" : " " + exception.Message)}");
    }
}
