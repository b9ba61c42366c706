namespace Alto.Tiering;

internal static class StreamFill
{
    /// <summary>Reads until the buffer is full or the stream ends; returns how much was read.</summary>
    public static async Task<int> FillAsync(Stream content, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await content.ReadAsync(buffer[filled..], cancellationToken);
            if (read == 0)
            {
                break;
            }
            filled += read;
        }
        return filled;
    }
}
