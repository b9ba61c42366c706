using System.Globalization;
using System.Text;

namespace Alto.Audit;

/// <summary>
/// RFC 5424 messages over RELP, the Reliable Event Logging Protocol (rsyslog's imrelp; over TLS when configured): every entry
/// is a "syslog" command the receiver answers "200 OK" once it has taken it, and a batch counts as
/// delivered only when every one of its entries was answered. A receiver that dies, hangs or
/// refuses part-way leaves the batch undelivered, so the forwarder's cursor stays and the batch is
/// sent again: at least once, which plain TCP syslog cannot give (it acknowledges bytes to the
/// receiving kernel, not to the receiver).
/// </summary>
public sealed class RelpAuditSink(string host, int port, AuditTls? tls = null) : IAuditSink
{
    /// <summary>Entries sent ahead of their answers (librelp's default window is 128).</summary>
    private const int Window = 64;

    /// <summary>How long the receiver may take to answer before the batch is given up and sent again.</summary>
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(30);

    public async Task DeliverAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(AnswerTimeout + TimeSpan.FromMilliseconds(100 * batch.Count));
        await using var stream = await AuditTls.ConnectAsync(host, port, tls, timeout.Token);
        var answers = new RelpFrameReader(stream);

        await WriteFrameAsync(stream, 1, "open", "relp_version=0\nrelp_software=alto\ncommands=syslog"u8.ToArray(), timeout.Token);
        await ExpectOkAsync(answers, 1, timeout.Token);
        var next = 2L;
        var answered = 2L;
        foreach (var entry in batch)
        {
            if (next - answered >= Window)
            {
                await ExpectOkAsync(answers, answered++, timeout.Token);
            }
            await WriteFrameAsync(stream, next++, "syslog", SyslogAuditSink.Message(entry), timeout.Token);
        }
        while (answered < next)
        {
            await ExpectOkAsync(answers, answered++, timeout.Token);
        }
        // Everything is taken; the close is a courtesy to the receiver.
        await WriteFrameAsync(stream, next, "close", [], timeout.Token);
    }

    private static async Task WriteFrameAsync(Stream stream, long transaction, string command, byte[] data, CancellationToken cancellationToken)
    {
        // One write a frame: over TLS each write is a record of its own.
        var header = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{transaction} {command} {data.Length}{(data.Length > 0 ? " " : "")}"));
        await stream.WriteAsync((byte[])[.. header, .. data, (byte)'\n'], cancellationToken);
    }

    private static async Task ExpectOkAsync(RelpFrameReader answers, long transaction, CancellationToken cancellationToken)
    {
        var (number, command, data) = await answers.ReadAsync(cancellationToken);
        if (command == "serverclose")
        {
            throw new IOException("the RELP receiver is closing the session");
        }
        if (number != transaction || command != "rsp")
        {
            throw new IOException($"the RELP receiver answered {number} {command} where the answer to {transaction} was due");
        }
        if (!data.StartsWith("200", StringComparison.Ordinal))
        {
            throw new IOException($"the RELP receiver refused entry {transaction}: {data.Split('\n')[0]}");
        }
    }

    /// <summary>Reads RELP frames: TXNR SP COMMAND SP DATALEN [SP DATA] LF.</summary>
    private sealed class RelpFrameReader(Stream stream)
    {
        private const int MaxDataLength = 1 << 20;
        private readonly byte[] _buffer = new byte[4096];
        private int _start;
        private int _end;

        public async Task<(long Transaction, string Command, string Data)> ReadAsync(CancellationToken cancellationToken)
        {
            var (transaction, _) = await TokenAsync(cancellationToken);
            var (command, _) = await TokenAsync(cancellationToken);
            var (lengthText, endedLine) = await TokenAsync(cancellationToken);
            if (!long.TryParse(transaction, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
                || !int.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length > MaxDataLength)
            {
                throw new IOException($"the RELP receiver sent a frame that is not RELP ({transaction} {command} {lengthText})");
            }
            if (endedLine)
            {
                return (number, command, "");
            }
            var data = new byte[length];
            for (var i = 0; i < length; i++)
            {
                data[i] = await ByteAsync(cancellationToken);
            }
            if (await ByteAsync(cancellationToken) != (byte)'\n')
            {
                throw new IOException("the RELP receiver sent a frame without its trailer");
            }
            return (number, command, Encoding.UTF8.GetString(data));
        }

        /// <summary>Bytes up to a space or a line end (which it says), at most 32.</summary>
        private async Task<(string Token, bool EndedLine)> TokenAsync(CancellationToken cancellationToken)
        {
            var token = new StringBuilder();
            while (true)
            {
                var next = await ByteAsync(cancellationToken);
                if (next is (byte)' ' or (byte)'\n')
                {
                    return (token.ToString(), next == '\n');
                }
                if (token.Length == 32)
                {
                    throw new IOException("the RELP receiver sent a frame that is not RELP");
                }
                token.Append((char)next);
            }
        }

        private async ValueTask<byte> ByteAsync(CancellationToken cancellationToken)
        {
            if (_start == _end)
            {
                _end = await stream.ReadAsync(_buffer, cancellationToken);
                _start = 0;
                if (_end == 0)
                {
                    throw new IOException("the RELP receiver closed the connection before it answered");
                }
            }
            return _buffer[_start++];
        }
    }
}
