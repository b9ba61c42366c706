using System.Text.RegularExpressions;
using System.Text;
using Alto.Scanning;

namespace Alto.Rules;

/// <summary>
/// Regular expressions over paths: built the one way every path pattern is built (the host's case
/// rules, culture-invariant, a match timeout) and run on .NET's non-backtracking engine, whose
/// time is linear in the path's length whatever the pattern: a pattern such as
/// <c>^/srv/x/(a|aa)+$</c>, which backtracks catastrophically elsewhere, costs a tenant nothing
/// here. Constructs that engine does not have (back-references, look-arounds, atomic groups) are
/// refused with the reason when a rule is saved.
/// </summary>
public static class PathRegex
{
    public const int MaxLength = 1024;

    /// <summary>How long one match may run when planning (a guard only: the engine is linear); see <see cref="CompiledRule"/> for what a time-out means.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);

    public static Regex Create(string pattern, PathFlavor flavor, TimeSpan? timeout = null)
    {
        var options = RegexOptions.CultureInvariant | RegexOptions.NonBacktracking
                      | (flavor == PathFlavor.Windows ? RegexOptions.IgnoreCase : RegexOptions.None);
        try
        {
            return new Regex(pattern, options, timeout ?? MatchTimeout);
        }
        catch (RegexParseException exception)
        {
            throw new PatternException($"not a valid regular expression: {Describe(exception.Error)}", exception.Offset);
        }
        catch (NotSupportedException exception)
        {
            // Back-references, look-arounds, atomic groups, or a pattern too large to build.
            throw new PatternException($"not usable in a rule: {exception.Message}");
        }
    }

    /// <summary>Throws <see cref="PatternException"/> when the pattern is not fit for a rule (on a host of either flavor).</summary>
    public static void Vet(string pattern)
    {
        if (pattern.Length == 0)
        {
            throw new PatternException("a regular expression must not be empty");
        }
        if (pattern.Length > MaxLength)
        {
            throw new PatternException($"a regular expression must be at most {MaxLength} characters (got {pattern.Length})");
        }
        if (pattern.IndexOf('\0', StringComparison.Ordinal) is >= 0 and var nul)
        {
            // No path holds one, and the rule could not be stored (PostgreSQL text refuses it).
            throw new PatternException("a regular expression must not contain NUL", nul);
        }
        _ = Create(pattern, PathFlavor.Posix);
        _ = Create(pattern, PathFlavor.Windows);
    }

    /// <summary>"UnterminatedBracket" → "unterminated bracket".</summary>
    private static string Describe(RegexParseError error)
    {
        var name = error.ToString();
        var words = new StringBuilder(name.Length + 8);
        foreach (var c in name)
        {
            if (char.IsUpper(c) && words.Length > 0)
            {
                words.Append(' ');
            }
            words.Append(char.ToLowerInvariant(c));
        }
        return words.ToString();
    }
}
