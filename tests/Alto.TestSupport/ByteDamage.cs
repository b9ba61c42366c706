namespace Alto.TestSupport;

/// <summary>Input damaged as a disk, a network, a crash or a careless writer damages it.</summary>
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

    /// <summary>
    /// A copy of <paramref name="bytes"/> broken in one to three places, each in one way: a byte
    /// set at random or to one of <paramref name="tokens"/> (what the format's parser trips on), a
    /// run cut out or repeated, a token put in, or the rest cut off.
    /// </summary>
    public static byte[] Mangle(byte[] bytes, Random random, byte[][] tokens)
    {
        var mangled = new List<byte>(bytes);
        for (var step = random.Next(1, 4); step > 0 && mangled.Count > 0; step--)
        {
            var at = random.Next(mangled.Count);
            var length = Math.Min(random.Next(1, 40), mangled.Count - at);
            switch (random.Next(6))
            {
                case 0:
                    mangled[at] = (byte)random.Next(256);
                    break;
                case 1:
                    mangled.RemoveRange(at, 1);
                    mangled.InsertRange(at, tokens[random.Next(tokens.Length)]);
                    break;
                case 2:
                    mangled.RemoveRange(at, length);
                    break;
                case 3:
                    mangled.InsertRange(at, mangled.GetRange(at, length));
                    break;
                case 4:
                    mangled.InsertRange(at, tokens[random.Next(tokens.Length)]);
                    break;
                default:
                    mangled.RemoveRange(at, mangled.Count - at);
                    break;
            }
        }
        return [.. mangled];
    }
}
