using Alto.GrainInterfaces.Tiers;

namespace Alto.Grains.Tests;

/// <summary>The message ids jobs travel under: one per sending, read back to the job whatever the gateway's age.</summary>
[Trait("Layer", "Unit")]
public sealed class JobMessageIdsTests
{
    private static readonly Guid Job = Guid.Parse("0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b");

    [Fact]
    public void EachSendingOfAJobHasAnIdOfItsOwnThatNamesTheJob()
    {
        Assert.Equal("job-0193a2b45c6d7e8f9a0b1c2d3e4f5a6b-2", JobMessageIds.Of(Job, 2));
        Assert.NotEqual(JobMessageIds.Of(Job, 1), JobMessageIds.Of(Job, 2));
        Assert.True(JobMessageIds.TryParse(JobMessageIds.Of(Job, 7), out var parsed));
        Assert.Equal(Job, parsed);
        // An id of a gateway from before attempts were numbered.
        Assert.True(JobMessageIds.TryParse("job-0193a2b45c6d7e8f9a0b1c2d3e4f5a6b", out parsed));
        Assert.Equal(Job, parsed);
    }

    [Theory]
    [InlineData("0193a2b45c6d7e8f9a0b1c2d3e4f5a6b")]
    [InlineData("job-")]
    [InlineData("job-0193a2b45c6d7e8f9a0b1c2d3e4f5a6b-")]
    [InlineData("job-0193a2b45c6d7e8f9a0b1c2d3e4f5a6b--1")]
    [InlineData("job-0193a2b45c6d7e8f9a0b1c2d3e4f5a6b-x")]
    [InlineData("job-0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b")]
    [InlineData("a1b2c3d4e5f60718293a4b5c6d7e8f90")]
    public void AnythingElseIsNoJobsMessageId(string messageId) => Assert.False(JobMessageIds.TryParse(messageId, out _));
}
