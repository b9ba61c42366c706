using System.Buffers.Binary;
using System.Reflection;
using Parquet;

namespace Alto.Scanning;

/// <summary>
/// Parses a Parquet file's footer before Parquet.Net opens it. The library parses the footer from
/// a copy of its own, not from the stream it is given, so <see cref="StrictEndStream"/> cannot stop
/// it reading for ever past the end of a footer cut off in the middle of a number. Here the
/// library's own footer reader (internal, so found by name) reads the same bytes over a strict
/// stream: the same code over the same bytes, which either ends — and then so does the library's
/// own parse — or is refused. A Parquet.Net that names these otherwise fails every Parquet test
/// at once (the type's initializer throws), not silently.
/// </summary>
public static class ParquetFooterCheck
{
    private static readonly byte[] Magic = "PAR1"u8.ToArray();

    private static readonly Type ProtocolReader = typeof(ParquetReader).Assembly.GetType("Parquet.Meta.Proto.ThriftCompactProtocolReader", throwOnError: true)!;

    private static readonly MethodInfo ReadFooter =
        typeof(Parquet.Meta.FileMetaData).GetMethod("Read", BindingFlags.NonPublic | BindingFlags.Static, [ProtocolReader])
        ?? throw new MissingMethodException(typeof(Parquet.Meta.FileMetaData).FullName, "Read(ThriftCompactProtocolReader)");

    /// <summary>Throws <see cref="ScanFormatException"/> when the footer is not one; leaves the stream at its start.</summary>
    public static async Task CheckAsync(Stream file, CancellationToken cancellationToken)
    {
        var length = file.Length;
        if (length < 12)
        {
            throw Unreadable($"it is {length} bytes long; the smallest Parquet file has 12");
        }
        var tail = new byte[8];
        file.Seek(-8, SeekOrigin.End);
        await file.ReadExactlyAsync(tail, cancellationToken);
        var footerLength = BinaryPrimitives.ReadInt32LittleEndian(tail);
        if (!tail.AsSpan(4).SequenceEqual(Magic) || footerLength <= 0 || footerLength > length - 12)
        {
            throw Unreadable($"it does not end with a footer's length and \"PAR1\" (a footer of {footerLength} bytes in a file of {length})");
        }
        var footer = new byte[footerLength];
        file.Seek(-8 - footerLength, SeekOrigin.End);
        await file.ReadExactlyAsync(footer, cancellationToken);
        file.Seek(0, SeekOrigin.Begin);
        try
        {
            ReadFooter.Invoke(null, [Activator.CreateInstance(ProtocolReader, new StrictEndStream(new MemoryStream(footer)))]);
        }
        catch (TargetInvocationException exception) when (exception.InnerException is not (OutOfMemoryException or null))
        {
            throw Unreadable($"its footer is damaged ({exception.InnerException.Message})");
        }
    }

    private static ScanFormatException Unreadable(string why) => new(0, null, $"not a readable Parquet file: {why}");
}
