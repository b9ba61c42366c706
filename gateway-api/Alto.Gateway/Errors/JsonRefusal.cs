using System.Text.Json;
using System.Text.RegularExpressions;

namespace Alto.Gateway.Errors;

/// <summary>
/// Says in the request's own terms what the JSON reader refused: the property and the JSON path,
/// and the kind of value expected ("a UUID", "a whole number"), never the server's .NET types,
/// which mean nothing to a client and tell an attacker how the server is built.
/// </summary>
public static partial class JsonRefusal
{
    public static string Describe(JsonException exception)
    {
        var at = string.IsNullOrEmpty(exception.Path) || exception.Path == "$" ? "" : $" at {exception.Path}";
        var message = exception.Message;
        if (UnmappedProperty().Match(message) is { Success: true } unmapped)
        {
            return $"unknown property '{unmapped.Groups["name"].Value}'{at} (the API reference lists each request's properties)";
        }
        if (NotConvertible().Match(message) is { Success: true } conversion)
        {
            return $"the value{at} is not {Expected(conversion.Groups["type"].Value)}";
        }
        if (MissingRequired().Match(message) is { Success: true } missing)
        {
            return $"required properties are missing: {missing.Groups["names"].Value.TrimEnd('.')}";
        }
        // A syntax error names a place, not a type; a type named anyway is not passed on.
        return DotNetType().Replace(message, "the value");
    }

    /// <summary>The kind of JSON value a .NET type is read from.</summary>
    private static string Expected(string type)
    {
        var inner = NullableOf().Match(type) is { Success: true } nullable ? nullable.Groups["inner"].Value : type;
        return inner switch
        {
            "System.String" => "a string",
            "System.Guid" => "a UUID",
            "System.Boolean" => "true or false",
            "System.Byte" or "System.Int16" or "System.Int32" or "System.Int64" or "System.UInt16" or "System.UInt32" or "System.UInt64" => "a whole number",
            "System.Single" or "System.Double" or "System.Decimal" => "a number",
            "System.DateTimeOffset" or "System.DateTime" => "an ISO 8601 time",
            "System.DateOnly" => "a date (YYYY-MM-DD)",
            _ when inner.EndsWith("[]", StringComparison.Ordinal) || inner.Contains("List`", StringComparison.Ordinal) || inner.Contains("Enumerable`", StringComparison.Ordinal) => "a list",
            _ when inner.Contains("Dictionary`", StringComparison.Ordinal) => "an object",
            _ => "of the expected kind (the API reference gives each property's)",
        };
    }

    [GeneratedRegex(@"The JSON property '(?<name>[^']*)' could not be mapped")]
    private static partial Regex UnmappedProperty();

    [GeneratedRegex(@"could not be converted to (?<type>[^\s]+?)\.? Path:|could not be converted to (?<type>[^\s]+?)\.$")]
    private static partial Regex NotConvertible();

    [GeneratedRegex(@"missing required properties,? including the following: (?<names>.*)$")]
    private static partial Regex MissingRequired();

    [GeneratedRegex(@"^System\.Nullable`1\[(?<inner>.+)\]$")]
    private static partial Regex NullableOf();

    [GeneratedRegex(@"'?\b(System|Alto|Microsoft)\.[\w.`\[\], ]+'?")]
    private static partial Regex DotNetType();
}
