using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Alto.Keys;

/// <summary>
/// <see cref="IKeyService"/> on HashiCorp Vault's Transit secrets engine, over its HTTP API
/// (create key, rotate, encrypt, decrypt, datakey/plaintext). One aes256-gcm96 key per tenant,
/// named alto-tenant-{id}; Vault keeps every version, so old ciphertexts keep decrypting.
/// </summary>
public sealed class VaultTransitKeyService(HttpClient http, VaultOptions options) : IKeyService
{
    public static string KeyName(Guid tenantId) => $"alto-tenant-{tenantId:N}";

    public async Task CreateKeyAsync(Guid tenantId, CancellationToken cancellationToken) =>
        await SendAsync(HttpMethod.Post, $"keys/{KeyName(tenantId)}", new JsonObject { ["type"] = "aes256-gcm96" }, cancellationToken);

    public async Task<int> RotateKeyAsync(Guid tenantId, CancellationToken cancellationToken)
    {
        await CreateKeyAsync(tenantId, cancellationToken);
        await SendAsync(HttpMethod.Post, $"keys/{KeyName(tenantId)}/rotate", new JsonObject(), cancellationToken);
        var key = await SendAsync(HttpMethod.Get, $"keys/{KeyName(tenantId)}", null, cancellationToken);
        return key?["data"]?["latest_version"]?.GetValue<int>() ?? throw new KeyServiceException("Vault did not say the key's latest version");
    }

    public async Task<string> EncryptAsync(Guid tenantId, byte[] plaintext, CancellationToken cancellationToken)
    {
        await CreateKeyAsync(tenantId, cancellationToken);
        var answer = await SendAsync(HttpMethod.Post, $"encrypt/{KeyName(tenantId)}",
            new JsonObject { ["plaintext"] = Convert.ToBase64String(plaintext) }, cancellationToken);
        return Data(answer, "ciphertext");
    }

    public async Task<byte[]> DecryptAsync(Guid tenantId, string ciphertext, CancellationToken cancellationToken)
    {
        if (!ciphertext.StartsWith("vault:v", StringComparison.Ordinal))
        {
            throw new KeyServiceException("not a Vault Transit ciphertext (vault:v<version>:<base64>)");
        }
        var answer = await SendAsync(HttpMethod.Post, $"decrypt/{KeyName(tenantId)}", new JsonObject { ["ciphertext"] = ciphertext }, cancellationToken);
        return Convert.FromBase64String(Data(answer, "plaintext"));
    }

    public async Task<DataKey> GenerateDataKeyAsync(Guid tenantId, CancellationToken cancellationToken)
    {
        await CreateKeyAsync(tenantId, cancellationToken);
        var answer = await SendAsync(HttpMethod.Post, $"datakey/plaintext/{KeyName(tenantId)}", new JsonObject { ["bits"] = 256 }, cancellationToken);
        return new DataKey(Convert.FromBase64String(Data(answer, "plaintext")), Data(answer, "ciphertext"));
    }

    /// <summary>Installation secrets are sealed with this key; the name is sealed with the secret and checked when it is opened.</summary>
    public const string PlatformKeyName = "alto-platform";

    public async Task<string> SealSecretAsync(string name, byte[] plaintext, CancellationToken cancellationToken)
    {
        await SendAsync(HttpMethod.Post, $"keys/{PlatformKeyName}", new JsonObject { ["type"] = "aes256-gcm96" }, cancellationToken);
        byte[] named = [.. System.Text.Encoding.UTF8.GetBytes(name + "\0"), .. plaintext];
        var answer = await SendAsync(HttpMethod.Post, $"encrypt/{PlatformKeyName}", new JsonObject { ["plaintext"] = Convert.ToBase64String(named) }, cancellationToken);
        return Data(answer, "ciphertext");
    }

    public async Task<byte[]> OpenSecretAsync(string name, string sealedSecret, CancellationToken cancellationToken)
    {
        var answer = await SendAsync(HttpMethod.Post, $"decrypt/{PlatformKeyName}", new JsonObject { ["ciphertext"] = sealedSecret }, cancellationToken);
        var named = Convert.FromBase64String(Data(answer, "plaintext"));
        var prefix = System.Text.Encoding.UTF8.GetBytes(name + "\0");
        return named.AsSpan().StartsWith(prefix)
            ? named[prefix.Length..]
            : throw new KeyServiceException($"the sealed secret is not the one named '{name}'");
    }

    private static string Data(JsonNode? answer, string field) =>
        answer?["data"]?[field]?.GetValue<string>() ?? throw new KeyServiceException($"Vault's answer has no data.{field}");

    private async Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonObject? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(new Uri(options.Address!.TrimEnd('/') + "/"), $"v1/{options.Mount.Trim('/')}/{path}"));
        request.Headers.Add("X-Vault-Token", Token());
        if (!string.IsNullOrEmpty(options.Namespace))
        {
            request.Headers.Add("X-Vault-Namespace", options.Namespace);
        }
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException exception)
        {
            throw new KeyServiceException($"Vault at {options.Address} could not be reached: {exception.Message}", exception);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new KeyServiceException($"Vault refused {method} {path}: {(int)response.StatusCode} {Errors(text)}");
            }
            return text.Length == 0 ? null : JsonNode.Parse(text);
        }
    }

    /// <summary>The token, read from its file each time when it comes from one (a Vault agent renews it there).</summary>
    private string Token() => options.Token is { Length: > 0 } token ? token : File.ReadAllText(options.TokenFile!).Trim();

    private static string Errors(string text)
    {
        try
        {
            return JsonNode.Parse(text)?["errors"] is JsonArray errors
                ? string.Join("; ", errors.Select(error => error?.ToString()))
                : text;
        }
        catch (JsonException)
        {
            return text.Length > 200 ? text[..200] : text;
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"Vault Transit at {options.Address}, mount {options.Mount}");
}
