namespace Alto.Silo.Startup;

/// <summary>
/// A setting that cannot be read as what it names (a URL that is not one), found while the host is
/// built — before validation runs — and reported like a failed validation: one line, exit code 2.
/// </summary>
public sealed class SettingException(string message) : Exception(message)
{
    /// <summary>The absolute URL <paramref name="value"/> of the setting <paramref name="setting"/>, or this exception saying which setting is wrong.</summary>
    public static Uri Url(string setting, string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var url) ? url
        : throw new SettingException($"{setting} '{value}' is not an absolute URL (for example http://127.0.0.1:8080)");
}
