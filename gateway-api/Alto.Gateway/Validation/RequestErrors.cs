using System.Text.RegularExpressions;

namespace Alto.Gateway.Validation;

/// <summary>
/// Collects every problem of one request, keyed by the JSON field that has it, so a caller can
/// fix them all at once. Rules return the cleaned value (trimmed) or null when the field failed.
/// </summary>
public sealed class RequestErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    /// <summary>How many fields have errors (long lists stop collecting at some point).</summary>
    public int Count => _errors.Count;

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var messages))
        {
            _errors[field] = messages = [];
        }
        messages.Add(message);
    }

    /// <summary>Another request's problems, each field under <paramref name="prefix"/> (a list item's "rules[2].").</summary>
    public void AddAll(string prefix, RequestErrors inner)
    {
        foreach (var (field, messages) in inner._errors)
        {
            foreach (var message in messages)
            {
                Add(prefix + field, message);
            }
        }
    }

    public Dictionary<string, string[]> ToDictionary() => _errors.ToDictionary(pair => pair.Key, pair => pair.Value.ToArray());

    /// <summary>Single-line text: trimmed, no control characters, within a length.</summary>
    public string? Text(string field, string? value, int maxLength, bool required)
    {
        if (value is null || value.Trim().Length == 0)
        {
            if (required)
            {
                Add(field, $"{field} is required");
            }
            return required ? null : value?.Trim();
        }
        var trimmed = value.Trim();
        if (trimmed.Length > maxLength)
        {
            Add(field, $"{field} must be at most {maxLength} characters (got {trimmed.Length})");
            return null;
        }
        if (trimmed.Any(char.IsControl))
        {
            Add(field, $"{field} must not contain control characters");
            return null;
        }
        return trimmed;
    }

    /// <summary>
    /// A name people read (a tenant's, a target's, a rule's): single-line text as <see cref="Text"/>,
    /// without invisible formatting characters — bidirectional overrides and zero-width characters
    /// would let a name read as another in the console and the audit log.
    /// </summary>
    public string? Name(string field, string? value, int maxLength, bool required)
    {
        var name = Text(field, value, maxLength, required);
        if (name is not null && name.Any(c => char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format))
        {
            Add(field, $"{field} must not contain invisible formatting characters (direction overrides, zero-width characters)");
            return null;
        }
        return name;
    }

    /// <summary>Free text that may span lines (descriptions): only length and NUL are checked.</summary>
    public string? LongText(string field, string? value, int maxLength)
    {
        if (value is null)
        {
            return null;
        }
        if (value.Length > maxLength)
        {
            Add(field, $"{field} must be at most {maxLength} characters (got {value.Length})");
            return null;
        }
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            Add(field, $"{field} must not contain NUL characters");
            return null;
        }
        return value.Trim();
    }

    public string? Matches(string field, string? value, Regex pattern, string description, bool required)
    {
        var text = Text(field, value, 1024, required);
        if (text is null || text.Length == 0)
        {
            return text;
        }
        if (!pattern.IsMatch(text))
        {
            Add(field, $"{field} {description}");
            return null;
        }
        return text;
    }

    /// <summary>An absolute http(s) URL.</summary>
    public string? HttpUrl(string field, string? value, bool required)
    {
        var text = Text(field, value, 2048, required);
        if (text is null || text.Length == 0)
        {
            return text;
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            Add(field, $"{field} must be an absolute http or https URL");
            return null;
        }
        return text;
    }

    /// <summary>A field that has no meaning in this context must be absent rather than silently ignored.</summary>
    public void MustBeAbsent(string field, object? value, string context)
    {
        if (value is not null)
        {
            Add(field, $"{field} does not apply to {context}");
        }
    }
}
