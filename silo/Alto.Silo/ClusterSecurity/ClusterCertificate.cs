using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Alto.Keys;
using Npgsql;

namespace Alto.Silo.ClusterSecurity;

/// <summary>
/// The installation's own certificate for the Orleans ports (silo to silo, and gateway clients to
/// silos): generated once by the first process that needs it and kept in alto.secret sealed with
/// the master key (or Vault), like the token-signing key. Every silo and gateway of the
/// installation loads the same one and accepts a peer only when it presents exactly this
/// certificate, so the ports answer nobody who lacks the installation's keys — Orleans itself
/// authenticates no caller, and a caller it accepts may call any grain of any tenant.
/// </summary>
public sealed class ClusterCertificate
{
    /// <summary>The name the sealed certificate is kept under in alto.secret (and sealed with).</summary>
    public const string SecretName = "orleans-cluster-certificate";

    /// <summary>The name presented for SNI and written in the certificate.</summary>
    public const string HostName = "alto-cluster";

    private X509Certificate2? _certificate;

    /// <summary>The loaded certificate, with its private key.</summary>
    public X509Certificate2 Certificate => _certificate
        ?? throw new InvalidOperationException("the cluster certificate is not loaded yet: no connection is made or accepted before it is");

    /// <summary>Whether a peer presented the installation's certificate itself (its bytes; a copy's issuer or subject is not enough).</summary>
    public bool IsInstallationCertificate(X509Certificate2? presented) =>
        presented is not null && _certificate is { } own && presented.RawData.AsSpan().SequenceEqual(own.RawData);

    /// <summary>Loads the installation's certificate, generating and storing it first when there is none.</summary>
    public async Task LoadAsync(NpgsqlDataSource db, IKeyService keys, CancellationToken cancellationToken)
    {
        if (await ReadAsync(db, cancellationToken) is not { } stored)
        {
            var sealedCertificate = await keys.SealSecretAsync(SecretName, Generate(), cancellationToken);
            // Two processes starting together both try; the first wins and both read its certificate.
            await using (var insert = db.CreateCommand("INSERT INTO alto.secret (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"))
            {
                insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = SecretName });
                insert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = System.Text.Encoding.UTF8.GetBytes(sealedCertificate) });
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            stored = await ReadAsync(db, cancellationToken) ?? throw new InvalidOperationException("the sealed cluster certificate vanished while it was stored");
        }
        var pkcs12 = await keys.OpenSecretAsync(SecretName, System.Text.Encoding.UTF8.GetString(stored), cancellationToken);
        _certificate = X509CertificateLoader.LoadPkcs12(pkcs12, password: null);
    }

    /// <summary>A self-signed P-256 certificate good for both ends of a TLS connection, as PKCS#12 without a password (it is sealed instead).</summary>
    public static byte[] Generate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={HostName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [Oid.FromOidValue("1.3.6.1.5.5.7.3.1", OidGroup.EnhancedKeyUsage), Oid.FromOidValue("1.3.6.1.5.5.7.3.2", OidGroup.EnhancedKeyUsage)], critical: false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(HostName);
        request.CertificateExtensions.Add(names.Build());
        var now = DateTimeOffset.UtcNow;
        // Pinned by its bytes, not trusted by a chain: a long life saves a rotation nobody needs.
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(30));
        return certificate.Export(X509ContentType.Pkcs12);
    }

    private static async Task<byte[]?> ReadAsync(NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        await using var select = db.CreateCommand("SELECT value FROM alto.secret WHERE name = $1");
        select.Parameters.Add(new NpgsqlParameter<string> { TypedValue = SecretName });
        return await select.ExecuteScalarAsync(cancellationToken) as byte[];
    }
}
