using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

namespace Alto.Gateway.Auth;

/// <summary>
/// The key that signs sign-in tokens. Generated once per installation and kept in alto.secret, so
/// every gateway of the cluster accepts every other gateway's tokens.
/// </summary>
public sealed class SigningKeyStore(NpgsqlDataSource db)
{
    private const string SecretName = "jwt-signing-key";
    private SymmetricSecurityKey? _key;

    public SymmetricSecurityKey Key => _key ?? throw new InvalidOperationException("The signing key is not loaded yet");

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        // Two gateways starting together both try to insert; the first wins and both read its key.
        await using (var insert = db.CreateCommand(
            "INSERT INTO alto.secret (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"))
        {
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = SecretName });
            insert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = RandomNumberGenerator.GetBytes(64) });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var select = db.CreateCommand("SELECT value FROM alto.secret WHERE name = $1");
        select.Parameters.Add(new NpgsqlParameter<string> { TypedValue = SecretName });
        var bytes = (byte[])(await select.ExecuteScalarAsync(cancellationToken))!;
        _key = new SymmetricSecurityKey(bytes) { KeyId = Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] };
    }
}
