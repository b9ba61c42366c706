namespace Alto.Rules;

/// <summary>A path pattern that cannot be used, with the zero-based position of the problem when there is one.</summary>
public sealed class PatternException(string message, int? position = null)
    : ArgumentException(position is { } at ? $"{message} at position {at}" : message)
{
    public int? Position { get; } = position;
}
