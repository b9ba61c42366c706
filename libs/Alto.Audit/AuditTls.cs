using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Alto.Audit;

/// <summary>
/// TLS for the syslog and RELP transports (RFC 5425 for syslog: the same octet-counted frames
/// inside TLS). The receiver's certificate must chain to <see cref="CaFile"/> (PEM) when given,
/// else to the system's trusted roots, and name <see cref="ServerName"/> (the host when not given).
/// </summary>
public sealed record AuditTls(string? CaFile, string? ServerName)
{
    /// <summary>A connection to the receiver: plain TCP, or TLS when <paramref name="tls"/> is given; the caller disposes it.</summary>
    public static async Task<Stream> ConnectAsync(string host, int port, AuditTls? tls, CancellationToken cancellationToken)
    {
        var client = new TcpClient();
        try
        {
            await client.ConnectAsync(host, port, cancellationToken);
            var stream = client.GetStream();
            if (tls is null)
            {
                return new OwningStream(stream, client);
            }
            var secure = new SslStream(stream, leaveInnerStreamOpen: false);
            await secure.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = tls.ServerName ?? host,
                CertificateChainPolicy = tls.CaFile is { } caFile ? OnlyFrom(caFile) : null,
            }, cancellationToken);
            return new OwningStream(secure, client);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Chains that end at the given CA and nowhere else.</summary>
    private static X509ChainPolicy OnlyFrom(string caFile)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.ImportFromPemFile(caFile);
        return policy;
    }

    /// <summary>The transport's stream, which also closes its socket.</summary>
    private sealed class OwningStream(Stream inner, TcpClient client) : Stream
    {
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => false;
        public override bool CanWrite => inner.CanWrite;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                client.Dispose();
            }
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            client.Dispose();
            await base.DisposeAsync();
        }
    }
}
