using System.Text;
using System.Text.RegularExpressions;

namespace Alto.Grains.Rules;

/// <summary>
/// Regular expressions over paths: built the one way every path pattern is built (the host's case
/// rules, culture-invariant, a match timeout), and vetted before a rule is accepted — a pattern
/// that does not parse is refused with its position, and one that backtracks catastrophically
/// is caught by running it on inputs built to trigger that.
/// </summary>
public static class PathRegex
{
    public const int MaxLength = 1024;

    /// <summary>How long one match may run when planning; a file whose match times out is not matched.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromMilliseconds(50);
    private const int ProbeRepeats = 40;
    private const int MaxProbeCharacters = 12;

    public static Regex Create(string pattern, PathFlavor flavor, bool compiled)
    {
        var options = RegexOptions.CultureInvariant
                      | (flavor == PathFlavor.Windows ? RegexOptions.IgnoreCase : RegexOptions.None)
                      | (compiled ? RegexOptions.Compiled : RegexOptions.None);
        try
        {
            return new Regex(pattern, options, MatchTimeout);
        }
        catch (RegexParseException exception)
        {
            throw new PatternException($"not a valid regular expression: {Describe(exception.Error)}", exception.Offset);
        }
    }

    /// <summary>Throws <see cref="PatternException"/> when the pattern is not fit for a rule.</summary>
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
        _ = Create(pattern, PathFlavor.Posix, compiled: false);
        var probe = new Regex(pattern, RegexOptions.CultureInvariant, ProbeTimeout);
        foreach (var input in ProbeInputs(pattern))
        {
            try
            {
                probe.IsMatch(input);
            }
            catch (RegexMatchTimeoutException)
            {
                throw new PatternException(
                    "the regular expression backtracks catastrophically (nested or overlapping repetition such as '(a+)+'); "
                    + $"it ran over {ProbeTimeout.TotalMilliseconds:0} ms on a {input.Length}-character path");
            }
        }
    }

    /// <summary>
    /// Catastrophic backtracking shows on a long run of characters the pattern can repeat, ended by
    /// one it cannot accept: each of the pattern's own characters (and a few common path
    /// characters), alone and in pairs, repeated, then a character no path holds.
    /// </summary>
    private static IEnumerable<string> ProbeInputs(string pattern)
    {
        var characters = pattern.Where(c => char.IsLetterOrDigit(c) || c is '/' or '.' or '-' or '_' or ' ')
            .Concat("a0 /._-")
            .Distinct()
            .Take(MaxProbeCharacters)
            .ToArray();
        foreach (var c in characters)
        {
            yield return new string(c, ProbeRepeats) + "\u0001";
        }
        foreach (var first in characters)
        {
            foreach (var second in characters)
            {
                if (first != second)
                {
                    var run = new StringBuilder(ProbeRepeats * 2 + 1);
                    for (var i = 0; i < ProbeRepeats / 2; i++)
                    {
                        run.Append(first).Append(second);
                    }
                    yield return run.Append('\u0001').ToString();
                }
            }
        }
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
