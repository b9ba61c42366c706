namespace Alto.Agent.Stubs.Windows;

internal static class DataAccess
{
    /// <summary>
    /// Reads the first byte of a file: a data access, so the driver sends its restore request for
    /// a stub and the read returns once the file is rehydrated (or fails if the restore did).
    /// </summary>
    public static async Task TouchAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.Asynchronous);
        await file.ReadAtLeastAsync(new byte[1], 1, throwOnEndOfStream: false, cancellationToken);
    }
}
