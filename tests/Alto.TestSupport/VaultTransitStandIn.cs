using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Alto.TestSupport;

/// <summary>
/// A STAND-IN for HashiCorp Vault's Transit secrets engine (no Vault server can be installed
/// here), on 127.0.0.1. It keeps the documented HTTP API Alto uses: X-Vault-Token checked on
/// every call (403 "permission denied" otherwise); POST keys/{name} creates an aes256-gcm96 key,
/// keys/{name}/rotate adds a version, GET keys/{name} reports latest_version; encrypt, decrypt
/// and datakey/plaintext take and give base64, ciphertexts read "vault:v{version}:{base64}";
/// errors come as {"errors": [...]}. Keys are real AES-256-GCM keys, every version kept.
/// </summary>
public sealed class VaultTransitStandIn : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, List<byte[]>> _keys = new();

    private VaultTransitStandIn(WebApplication app, string token)
    {
        _app = app;
        Token = token;
    }

    public string Token { get; }

    public Uri Address { get; private set; } = null!;

    /// <summary>Calls answered, for tests that want to see the service was really used.</summary>
    public int Calls { get; private set; }

    public static async Task<VaultTransitStandIn> StartAsync(string mount = "transit")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var vault = new VaultTransitStandIn(app, "s.stand-in-" + Guid.NewGuid().ToString("N"));
        vault.Map(app, mount);
        await app.StartAsync();
        vault.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return vault;
    }

    private void Map(WebApplication app, string mount)
    {
        var transit = app.MapGroup($"/v1/{mount}");
        transit.AddEndpointFilter(async (context, next) =>
        {
            Calls++;
            return context.HttpContext.Request.Headers["X-Vault-Token"] == Token ? await next(context) : Error(403, "permission denied");
        });
        transit.MapPost("/keys/{name}", (string name) =>
        {
            _keys.GetOrAdd(name, _ => [RandomNumberGenerator.GetBytes(32)]);
            return Results.NoContent();
        });
        transit.MapPost("/keys/{name}/rotate", (string name) =>
        {
            if (!_keys.TryGetValue(name, out var versions))
            {
                return Error(400, "key not found");
            }
            lock (versions)
            {
                versions.Add(RandomNumberGenerator.GetBytes(32));
            }
            return Results.Json(KeyInfo(name, versions));
        });
        transit.MapGet("/keys/{name}", (string name) => _keys.TryGetValue(name, out var versions) ? Results.Json(KeyInfo(name, versions)) : Error(404, ""));
        transit.MapPost("/encrypt/{name}", async (string name, HttpRequest request) =>
        {
            var body = await JsonNode.ParseAsync(request.Body);
            if (!_keys.TryGetValue(name, out var versions) || body?["plaintext"]?.GetValue<string>() is not { } plaintext)
            {
                return Error(400, "missing key or plaintext");
            }
            return Results.Json(new { data = new { ciphertext = Encrypt(versions, Convert.FromBase64String(plaintext)), key_version = versions.Count } });
        });
        transit.MapPost("/decrypt/{name}", async (string name, HttpRequest request) =>
        {
            var body = await JsonNode.ParseAsync(request.Body);
            if (!_keys.TryGetValue(name, out var versions) || body?["ciphertext"]?.GetValue<string>() is not { } ciphertext)
            {
                return Error(400, "missing key or ciphertext");
            }
            return Decrypt(versions, ciphertext) is { } plaintext
                ? Results.Json(new { data = new { plaintext = Convert.ToBase64String(plaintext) } })
                : Error(400, "cipher: message authentication failed");
        });
        transit.MapPost("/datakey/plaintext/{name}", (string name) =>
        {
            if (!_keys.TryGetValue(name, out var versions))
            {
                return Error(400, "key not found");
            }
            var key = RandomNumberGenerator.GetBytes(32);
            return Results.Json(new { data = new { plaintext = Convert.ToBase64String(key), ciphertext = Encrypt(versions, key), key_version = versions.Count } });
        });
    }

    private static object KeyInfo(string name, List<byte[]> versions) =>
        new { data = new { name, type = "aes256-gcm96", latest_version = versions.Count, min_decryption_version = 1 } };

    private static string Encrypt(List<byte[]> versions, byte[] plaintext)
    {
        byte[] key;
        int version;
        lock (versions)
        {
            version = versions.Count;
            key = versions[^1];
        }
        var output = new byte[12 + plaintext.Length + 16];
        RandomNumberGenerator.Fill(output.AsSpan(0, 12));
        using var aes = new AesGcm(key, 16);
        aes.Encrypt(output.AsSpan(0, 12), plaintext, output.AsSpan(12, plaintext.Length), output.AsSpan(12 + plaintext.Length));
        return $"vault:v{version.ToString(CultureInfo.InvariantCulture)}:{Convert.ToBase64String(output)}";
    }

    private static byte[]? Decrypt(List<byte[]> versions, string ciphertext)
    {
        var parts = ciphertext.Split(':');
        if (parts.Length != 3 || parts[0] != "vault" || !int.TryParse(parts[1].AsSpan(1), CultureInfo.InvariantCulture, out var version)
            || version < 1 || version > versions.Count)
        {
            return null;
        }
        byte[] sealedBytes;
        try
        {
            sealedBytes = Convert.FromBase64String(parts[2]);
        }
        catch (FormatException)
        {
            return null;
        }
        if (sealedBytes.Length < 28)
        {
            return null;
        }
        var plaintext = new byte[sealedBytes.Length - 28];
        using var aes = new AesGcm(versions[version - 1], 16);
        try
        {
            aes.Decrypt(sealedBytes.AsSpan(0, 12), sealedBytes.AsSpan(12, plaintext.Length), sealedBytes.AsSpan(12 + plaintext.Length), plaintext);
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }

    private static IResult Error(int status, string message) => Results.Json(new { errors = message.Length == 0 ? Array.Empty<string>() : [message] }, statusCode: status);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
