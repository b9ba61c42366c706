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

    public static Uri GetUri(this ParseResult parse, Option<string> option) => new(parse.GetValue(option)!, UriKind.Absolute);
}
