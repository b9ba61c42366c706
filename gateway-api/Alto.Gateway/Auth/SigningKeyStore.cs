using System.Security.Cryptography;
using System.Text;
using Alto.Gateway.Options;
using Alto.Keys;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

namespace Alto.Gateway.Auth;

/// <summary>
/// The key that signs sign-in tokens. Generated once per installation and kept in alto.secret,
/// sealed with the installation's master key (or Vault) like every other secret, so every gateway
/// of the cluster accepts every other gateway's tokens and a copy of the database alone forges none.
/// A key stored in the clear by an older version is sealed in place at the first start.
/// Alto:Auth:SigningKey, when set, is used instead.
/// </summary>
public sealed class SigningKeyStore(NpgsqlDataSource db, IKeyService keys, IOptions<AuthOptions> options)
{
    private const string SecretName = "jwt-signing-key";
    private const string SealedName = "jwt-signing-key.sealed";
    private SymmetricSecurityKey? _key;

    public SymmetricSecurityKey Key => _key ?? throw new InvalidOperationException("The signing key is not loaded yet");

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        // A key the operator gives (a Kubernetes Secret, every gateway the same) is used as it is;
        // changing it signs everyone out.
        if (options.Value.SigningKeyBytes() is { } configured)
        {
            _key = WithId(configured);
            return;
        }
        // An older installation's key in the clear is kept (tokens it signed stay valid), sealed; otherwise a new one.
        var plain = await ReadAsync(SecretName, cancellationToken);
        var sealedSecret = await keys.SealSecretAsync(SecretName, plain ?? RandomNumberGenerator.GetBytes(64), cancellationToken);
        // Two gateways starting together both try to insert; the first wins and both read its key.
        await using (var insert = db.CreateCommand("INSERT INTO alto.secret (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"))
        {
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = SealedName });
            insert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Encoding.UTF8.GetBytes(sealedSecret) });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        var stored = await ReadAsync(SealedName, cancellationToken)
            ?? throw new InvalidOperationException("the sealed signing key vanished while it was stored");
        var bytes = await keys.OpenSecretAsync(SecretName, Encoding.UTF8.GetString(stored), cancellationToken);
        if (plain is not null)
        {
            await using var delete = db.CreateCommand("DELETE FROM alto.secret WHERE name = $1");
            delete.Parameters.Add(new NpgsqlParameter<string> { TypedValue = SecretName });
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        _key = WithId(bytes);
    }

    private static SymmetricSecurityKey WithId(byte[] bytes) => new(bytes) { KeyId = Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] };

    private async Task<byte[]?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        await using var select = db.CreateCommand("SELECT value FROM alto.secret WHERE name = $1");
        select.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
        return await select.ExecuteScalarAsync(cancellationToken) as byte[];
    }
}
