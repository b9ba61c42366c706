using Microsoft.Extensions.Options;

namespace Alto.Keys;

/// <summary>Where tenant keys come from: "local" (the default keyring) or "vault" (Transit).</summary>
public sealed class KeyOptions
{
    public const string Section = "Alto:Keys";
    public const string MasterKeyVariable = "ALTO_MASTER_KEY";

    public string Provider { get; set; } = "local";

    /// <summary>
    /// The local keyring's master key file (base64 of 32 bytes, mode 0600), generated at first
    /// start. <c>ALTO_MASTER_KEY</c> in the environment takes precedence. Every silo and gateway
    /// of an installation needs the same master key.
    /// </summary>
    public string MasterKeyFile { get; set; } = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".alto", "master.key");

    public VaultOptions Vault { get; set; } = new();

    public IEnumerable<string> Problems()
    {
        if (Provider is not ("local" or "vault"))
        {
            yield return $"Alto:Keys:Provider must be local or vault, not '{Provider}'";
        }
        if (Provider == "vault")
        {
            if (!Uri.TryCreate(Vault.Address, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
            {
                yield return "Alto:Keys:Vault:Address must be the Vault server's http(s) URL";
            }
            if (string.IsNullOrEmpty(Vault.Token) && string.IsNullOrEmpty(Vault.TokenFile))
            {
                yield return "Alto:Keys:Vault needs a Token or a TokenFile";
            }
        }
    }
}

/// <summary>Vault's Transit secrets engine: one key per tenant, named alto-tenant-{id}.</summary>
public sealed class VaultOptions
{
    public string? Address { get; set; }

    /// <summary>A token with the transit policy (or read from <see cref="TokenFile"/>, e.g. written by a Vault agent).</summary>
    public string? Token { get; set; }

    public string? TokenFile { get; set; }

    /// <summary>Where the Transit engine is mounted.</summary>
    public string Mount { get; set; } = "transit";

    /// <summary>Vault Enterprise namespace, if any.</summary>
    public string? Namespace { get; set; }
}

/// <summary>Refuses to start with key settings that cannot work, naming each problem.</summary>
public sealed class KeyOptionsValidation : IValidateOptions<KeyOptions>
{
    public ValidateOptionsResult Validate(string? name, KeyOptions options) =>
        options.Problems().ToList() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}
