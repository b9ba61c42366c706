namespace Alto.TestSupport;

/// <summary>Waiting for what the system does by itself (a grain's timer, a retry, another process), polled.</summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test, saying <paramref name="what"/> did not happen, after <paramref name="patience"/> (30 s).</summary>
    public static async Task WaitAsync(Func<Task<bool>> condition, string what, TimeSpan? patience = null, TimeSpan? poll = null)
    {
        var limit = patience ?? TimeSpan.FromSeconds(30);
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited {limit.TotalSeconds:0.#} s: {what}");
            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(25));
        }
    }
}
