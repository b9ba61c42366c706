using System.Text.Json;
using System.Text.RegularExpressions;

namespace Alto.Gateway.Errors;

/// <summary>
/// Says in the request's own terms what the framework refused: the property and its JSON path or
/// the query parameter, and the kind of value expected ("a UUID", "a whole number"), never the
/// server's .NET types, which mean nothing to a client and tell an attacker how the server is built.
/// </summary>
public static partial class RequestRefusal
{
    /// <summary>A route or query value that could not be read ("Failed to bind parameter "Nullable&lt;int&gt; page" from "abc"").</summary>
    public static string DescribeBinding(string message)
    {
        if (UnboundParameter().Match(message) is not { Success: true } unbound)
        {
            return DotNetType().Replace(message, "the value");
        }
        var name = unbound.Groups["name"].Value;
        var parameter = name.Length > 0 ? char.ToLowerInvariant(name[0]) + name[1..] : name;
        var value = unbound.Groups["value"].Value;
        return $"the parameter '{parameter}' ('{(value.Length > 40 ? value[..40] + "…" : value)}') is not {Expected(unbound.Groups["type"].Value)}";
    }

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

    /// <summary>The kind of value a .NET type is read from, whether the reader spelt it System.Nullable`1[System.Int32] or Nullable&lt;int&gt;.</summary>
    private static string Expected(string type)
    {
        var inner = NullableOf().Match(type) is { Success: true } nullable ? nullable.Groups["inner"].Value : type;
        return (inner.StartsWith("System.", StringComparison.Ordinal) ? inner["System.".Length..] : inner) switch
        {
            "String" or "string" => "a string",
            "Guid" => "a UUID",
            "Boolean" or "bool" => "true or false",
            "Byte" or "Int16" or "Int32" or "Int64" or "UInt16" or "UInt32" or "UInt64" or "byte" or "short" or "int" or "long" or "ushort" or "uint" or "ulong" => "a whole number",
            "Single" or "Double" or "Decimal" or "float" or "double" or "decimal" => "a number",
            "DateTimeOffset" or "DateTime" => "an ISO 8601 time",
            "DateOnly" => "a date (YYYY-MM-DD)",
            _ when inner.EndsWith("[]", StringComparison.Ordinal) || inner.Contains("List`", StringComparison.Ordinal) || inner.Contains("Enumerable`", StringComparison.Ordinal) => "a list",
            _ when inner.Contains("Dictionary`", StringComparison.Ordinal) => "an object",
            _ => "of the expected kind (see the API reference)",
        };
    }

    [GeneratedRegex(@"The JSON property '(?<name>[^']*)' could not be mapped")]
    private static partial Regex UnmappedProperty();

    [GeneratedRegex(@"could not be converted to (?<type>[^\s]+?)\.? Path:|could not be converted to (?<type>[^\s]+?)\.$")]
    private static partial Regex NotConvertible();

    [GeneratedRegex(@"missing required properties,? including the following: (?<names>.*)$")]
    private static partial Regex MissingRequired();

    [GeneratedRegex(@"^(System\.Nullable`1\[(?<inner>.+)\]|Nullable<(?<inner>.+)>)$")]
    private static partial Regex NullableOf();

    [GeneratedRegex(@"^Failed to bind parameter ""(?<type>\S+) (?<name>\S+)"" from ""(?<value>.*)""\.?$", RegexOptions.Singleline)]
    private static partial Regex UnboundParameter();

    [GeneratedRegex(@"'?\b(System|Alto|Microsoft)\.[\w.`\[\], ]+'?|\bNullable<[^>]*>")]
    private static partial Regex DotNetType();
}
