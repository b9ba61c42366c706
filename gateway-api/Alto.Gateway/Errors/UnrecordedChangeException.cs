namespace Alto.Gateway.Errors;

/// <summary>
/// A change was made (in a transaction of its own) and only its audit entry failed after it, the
/// database or cluster failing just then (<see cref="Exception.InnerException"/>). Answered 503 like
/// any outage, but saying what is true: <see cref="Exception.Message"/> tells what was made and
/// how to have it recorded, where an outage's answer says that nothing was changed.
/// </summary>
public sealed class UnrecordedChangeException(string whatWasMade, Exception failure) : Exception(whatWasMade, failure);
