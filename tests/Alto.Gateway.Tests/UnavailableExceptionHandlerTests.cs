using System.Net.Sockets;
using Alto.Gateway.Errors;
using Npgsql;

namespace Alto.Gateway.Tests;

/// <summary>Which failures a request is answered 503 for (try again) rather than 500, by the SQLSTATE PostgreSQL sends.</summary>
[Trait("Layer", "Unit")]
public sealed class UnavailableExceptionHandlerTests
{
    [Theory]
    [InlineData(PostgresErrorCodes.QueryCanceled, "The database")]
    [InlineData(PostgresErrorCodes.AdminShutdown, "The database")]
    [InlineData(PostgresErrorCodes.CannotConnectNow, "The database")]
    [InlineData(PostgresErrorCodes.TooManyConnections, "The database")]
    [InlineData(PostgresErrorCodes.UniqueViolation, null)]
    [InlineData(PostgresErrorCodes.InvalidTextRepresentation, null)]
    public void AnErrorFromTheDatabaseIsAnOutageOnlyWhenItSaysNothingAboutTheRequest(string sqlState, string? unavailable) =>
        Assert.Equal(unavailable, UnavailableExceptionHandler.WhatIsUnavailable(
            new InvalidOperationException("wrapped", new PostgresException("refused", "ERROR", "ERROR", sqlState))));

    [Fact]
    public void ALostConnectionIsAnOutageAndAnyOtherFailureIsNot()
    {
        Assert.Equal("The database", UnavailableExceptionHandler.WhatIsUnavailable(new NpgsqlException("lost", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.Null(UnavailableExceptionHandler.WhatIsUnavailable(new InvalidOperationException("a bug")));
    }

    [Fact]
    public void AGrainCallThatTimedOutIsTheMomentsFailureAndADatabaseTimeoutIsTheDatabases()
    {
        Assert.Equal("timeout", UnavailableExceptionHandler.CauseOf(new TimeoutException("Response did not arrive on time in 00:00:30")));
        Assert.Equal("database", UnavailableExceptionHandler.CauseOf(new NpgsqlException("slow", new TimeoutException("timeout"))));
        Assert.Equal("cluster", UnavailableExceptionHandler.CauseOf(new SiloUnavailableException("gone")));
        Assert.Null(UnavailableExceptionHandler.CauseOf(new InvalidOperationException("a bug")));
    }
}
