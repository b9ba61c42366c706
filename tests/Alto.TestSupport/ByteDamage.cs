namespace Alto.TestSupport;

/// <summary>Input damaged as a disk, a network or a crash damages it: a short run of random bytes at a random place.</summary>
public static class ByteDamage
{
    /// <summary>A copy of <paramref name="bytes"/> with 1 to <paramref name="longestRun"/> bytes from a place in [from, to) replaced at random.</summary>
    public static (byte[] Damaged, int At) Apply(byte[] bytes, Random random, int longestRun, int from = 0, int? to = null)
    {
        var damaged = (byte[])bytes.Clone();
        var at = random.Next(from, to ?? bytes.Length);
        var run = 1 + random.Next(longestRun);
        for (var i = 0; i < run && at + i < damaged.Length; i++)
        {
            damaged[at + i] = (byte)random.Next(256);
        }
        return (damaged, at);
    }
}
