using System.CommandLine;

namespace Alto.Agent.Cli;

/// <summary>An option holding an absolute http(s) URL, refused with a clear message otherwise.</summary>
public static class UrlOption
{
    public static Option<string> Create(string name, string description, string defaultValue)
    {
        var option = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                result.AddError($"{name} must be an absolute http:// or https:// URL, not '{value}'");
            }
        });
        return option;
    }

    /// <summary>An optional URL option with no default: absent is null, anything but an absolute http(s) URL is refused by name.</summary>
    public static Option<Uri?> CreateOptional(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = result =>
        {
            var value = result.Tokens.Count == 1 ? result.Tokens[0].Value : null;
            if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            {
                return uri;
            }
            result.AddError($"{name} must be an absolute http:// or https:// URL, not '{value}'");
            return null;
        },
    };

    public static Uri GetUri(this ParseResult parse, Option<string> option) => new(parse.GetValue(option)!, UriKind.Absolute);
}
