using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alto.TestSupport;

/// <summary>A test CA, a server certificate it signs for 127.0.0.1, and a second CA that signs nothing here, as PEM files.</summary>
public static class TestCertificates
{
    public static (RsyslogTls Server, string OtherCaFile) Write(string folder)
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = RSA.Create(2048);
        using var ca = Authority("CN=Alto test CA", caKey, now);
        using var serverKey = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var server = request.Create(ca, now.AddDays(-1), now.AddDays(1), RandomNumberGenerator.GetBytes(8));
        using var otherKey = RSA.Create(2048);
        using var other = Authority("CN=Some other CA", otherKey, now);

        var tls = new RsyslogTls(Path.Combine(folder, "ca.pem"), Path.Combine(folder, "server.pem"), Path.Combine(folder, "server.key"));
        File.WriteAllText(tls.CaFile, ca.ExportCertificatePem());
        File.WriteAllText(tls.CertificateFile, server.ExportCertificatePem());
        File.WriteAllText(tls.KeyFile, serverKey.ExportPkcs8PrivateKeyPem());
        var otherCa = Path.Combine(folder, "other-ca.pem");
        File.WriteAllText(otherCa, other.ExportCertificatePem());
        return (tls, otherCa);
    }

    private static X509Certificate2 Authority(string name, RSA key, DateTimeOffset now)
    {
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        return request.CreateSelfSigned(now.AddDays(-1), now.AddDays(2));
    }
}
