namespace Alto.GrainInterfaces.Common;

/// <summary>Why a grain refused a command. Maps one-to-one onto HTTP answers at the gateway.</summary>
public enum CommandErrorKind
{
    NotFound = 0,
    Conflict = 1,
    Invalid = 2,

    /// <summary>The caller's precondition (If-Match) names a revision the resource has moved on from.</summary>
    Stale = 3,
}

[GenerateSerializer, Immutable, Alias("Alto.CommandError")]
public sealed record CommandError(
    [property: Id(0)] CommandErrorKind Kind,
    [property: Id(1)] string Message,
    [property: Id(2)] string? Field = null);

/// <summary>
/// The answer of a grain command: a value or an error. Grains return refusals as values rather
/// than exceptions so that callers handle every outcome and nothing is logged as a failure.
/// </summary>
[GenerateSerializer, Immutable, Alias("Alto.CommandResult`1")]
public sealed record CommandResult<T>(
    [property: Id(0)] T? Value,
    [property: Id(1)] CommandError? Error)
{
    public bool Succeeded => Error is null;

    public static CommandResult<T> Ok(T value) => new(value, null);

    public static CommandResult<T> Fail(CommandErrorKind kind, string message) => new(default, new CommandError(kind, message));

    public static CommandResult<T> NotFound(string message) => Fail(CommandErrorKind.NotFound, message);

    public static CommandResult<T> Conflict(string message) => Fail(CommandErrorKind.Conflict, message);

    /// <summary>A refusal of a change made against a revision the resource has moved on from.</summary>
    public static CommandResult<T> Stale(string message) => Fail(CommandErrorKind.Stale, message);

    /// <summary>A refusal of bad input, naming the request field at fault so the API can point at it.</summary>
    public static CommandResult<T> Invalid(string field, string message) => new(default, new CommandError(CommandErrorKind.Invalid, message, field));
}
