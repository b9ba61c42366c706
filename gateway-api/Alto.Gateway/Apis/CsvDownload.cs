using System.Globalization;
using System.Text;
using Alto.Gateway.Validation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Alto.Gateway.Apis;

/// <summary>Reports as RFC 4180 CSV downloads (format=csv), for spreadsheets and scripts.</summary>
public static class CsvDownload
{
    /// <summary>Whether the caller asked for CSV; anything but json or csv is a problem.</summary>
    public static bool Asked(RequestErrors errors, string? format)
    {
        if (format is not null and not "json" and not "csv")
        {
            errors.Add("format", "format is json or csv");
        }
        return format == "csv";
    }

    /// <summary>A whole report as a download.</summary>
    public static FileContentHttpResult Of(string name, string[] header, IEnumerable<object[]> rows)
    {
        var text = new StringBuilder();
        AppendLine(text, header);
        foreach (var row in rows)
        {
            AppendLine(text, row);
        }
        return TypedResults.File(Encoding.UTF8.GetBytes(text.ToString()), ScanResultsApi.CsvMediaType, $"{name}.csv");
    }

    /// <summary>One line: the fields quoted where they must be, and a CRLF.</summary>
    public static void AppendLine(StringBuilder text, IEnumerable<object> fields) =>
        text.AppendJoin(',', fields.Select(value => Field(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""))).Append("\r\n");

    /// <summary>
    /// A field quoted when it must be; a leading formula character (OWASP's list: = + - @, tab and
    /// carriage return) is defused for spreadsheets — paths and owners come from file servers.
    /// </summary>
    public static string Field(string value)
    {
        var safe = value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r'
            && !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? "'" + value : value;
        return safe.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + safe.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : safe;
    }
}
