using System.Text.RegularExpressions;
using System.Text;
using Alto.Scanning;

namespace Alto.Rules;

/// <summary>
/// Translates a path glob into a regular expression. The syntax admins know from shells and
/// .gitignore: <c>*</c> and <c>?</c> stay within one path component, <c>**</c> crosses them,
/// <c>[a-z]</c>/<c>[!a-z]</c> are classes and <c>{a,b}</c> alternatives. A glob that starts at
/// the root (<c>/</c>, <c>C:</c>, <c>\\server</c>) is anchored there; any other glob may match
/// from any component boundary (<c>*.tmp</c> finds .tmp files at every depth). A glob that
/// matches a directory matches every file below it.
/// </summary>
public static class GlobPattern
{
    public const int MaxLength = 1024;
    private const int MaxBraceDepth = 8;

    public static string ToRegexPattern(string glob, PathFlavor flavor)
    {
        if (glob.Length == 0)
        {
            throw new PatternException("a glob must not be empty");
        }
        if (glob.Length > MaxLength)
        {
            throw new PatternException($"a glob must be at most {MaxLength} characters (got {glob.Length})");
        }

        var windows = flavor == PathFlavor.Windows;
        var separator = windows ? @"[\\/]" : "/";
        var notSeparator = windows ? @"[^\\/]" : "[^/]";
        var regex = new StringBuilder(glob.Length * 2 + 16);
        regex.Append(IsRooted(glob, windows) ? "^" : $"(?:^|{separator})");

        var braceDepth = 0;
        var braceOpenedAt = new Stack<int>();
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            switch (c)
            {
                case '*' when i + 1 < glob.Length && glob[i + 1] == '*':
                    i++;
                    if (i + 1 < glob.Length && IsSeparator(glob[i + 1], windows))
                    {
                        // "**/" is zero or more whole directories.
                        i++;
                        regex.Append($"(?:.*{separator})?");
                    }
                    else
                    {
                        regex.Append(".*");
                    }
                    break;
                case '*':
                    regex.Append(notSeparator).Append('*');
                    break;
                case '?':
                    regex.Append(notSeparator);
                    break;
                case '[':
                    i = AppendClass(glob, i, windows, regex);
                    break;
                case '{':
                    if (++braceDepth > MaxBraceDepth)
                    {
                        throw new PatternException($"'{{' alternatives nest deeper than {MaxBraceDepth}", i);
                    }
                    braceOpenedAt.Push(i);
                    regex.Append("(?:");
                    break;
                case ',' when braceDepth > 0:
                    regex.Append('|');
                    break;
                case '}':
                    if (braceDepth == 0)
                    {
                        throw new PatternException("'}' without a matching '{'", i);
                    }
                    braceDepth--;
                    braceOpenedAt.Pop();
                    regex.Append(')');
                    break;
                case '\\' when !windows:
                    if (i + 1 == glob.Length)
                    {
                        throw new PatternException("'\\' at the end escapes nothing", i);
                    }
                    regex.Append(Regex.Escape(glob[++i].ToString()));
                    break;
                case '\0':
                    throw new PatternException("a glob must not contain NUL", i);
                default:
                    regex.Append(IsSeparator(c, windows) ? separator : Regex.Escape(c.ToString()));
                    break;
            }
        }
        if (braceDepth > 0)
        {
            throw new PatternException("'{' is never closed", braceOpenedAt.Peek());
        }
        // A directory matches everything below it.
        regex.Append($"(?:{separator}.*)?$");
        return regex.ToString();
    }

    private static bool IsSeparator(char c, bool windows) => c == '/' || (windows && c == '\\');

    private static bool IsRooted(string glob, bool windows) =>
        glob[0] == '/' || (windows && (glob[0] == '\\' || (glob.Length >= 2 && char.IsAsciiLetter(glob[0]) && glob[1] == ':')));

    /// <summary>Copies a [...] class, which never matches a separator; returns the index of its ']'.</summary>
    private static int AppendClass(string glob, int open, bool windows, StringBuilder regex)
    {
        var i = open + 1;
        var negated = i < glob.Length && (glob[i] == '!' || glob[i] == '^');
        if (negated)
        {
            i++;
        }
        var members = new StringBuilder();
        var first = true;
        for (; i < glob.Length; i++, first = false)
        {
            var c = glob[i];
            if (c == ']' && !first)
            {
                if (members.Length == 0)
                {
                    throw new PatternException("'[]' is an empty class", open);
                }
                regex.Append(negated ? "[^" : "[").Append(members);
                regex.Append(negated ? (windows ? @"\\/]" : "/]") : "]");
                return i;
            }
            if (c == '\\' && !windows)
            {
                if (++i == glob.Length)
                {
                    break;
                }
                c = glob[i];
            }
            else if (c == '-' && !first && i + 1 < glob.Length && glob[i + 1] != ']')
            {
                var low = glob[i - 1];
                var high = glob[i + 1];
                if (high < low)
                {
                    throw new PatternException($"range '{low}-{high}' is reversed", i - 1);
                }
                members.Append('-');
                continue;
            }
            members.Append(c is '\\' or ']' or '[' or '^' or '-' ? "\\" + c : c.ToString());
        }
        throw new PatternException("'[' is never closed", open);
    }
}
