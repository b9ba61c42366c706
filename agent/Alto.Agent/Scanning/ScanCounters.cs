namespace Alto.Agent.Scanning;

/// <summary>What a scan has seen so far; read by the progress display while workers add to it.</summary>
public sealed class ScanCounters
{
    private long _files;
    private long _bytes;
    private long _directories;
    private long _permissionDenied;
    private long _vanished;
    private long _tooLong;
    private long _otherErrors;
    private long _symlinks;

    public long Files => Interlocked.Read(ref _files);
    public long Bytes => Interlocked.Read(ref _bytes);
    public long Directories => Interlocked.Read(ref _directories);
    public long PermissionDenied => Interlocked.Read(ref _permissionDenied);
    public long Vanished => Interlocked.Read(ref _vanished);
    public long TooLong => Interlocked.Read(ref _tooLong);
    public long OtherErrors => Interlocked.Read(ref _otherErrors);
    public long SymlinksSkipped => Interlocked.Read(ref _symlinks);
    public long Errors => PermissionDenied + Vanished + TooLong + OtherErrors;

    public void AddFile(long size)
    {
        Interlocked.Increment(ref _files);
        Interlocked.Add(ref _bytes, size);
    }

    public void AddDirectory() => Interlocked.Increment(ref _directories);
    public void AddPermissionDenied() => Interlocked.Increment(ref _permissionDenied);
    public void AddVanished() => Interlocked.Increment(ref _vanished);
    public void AddTooLong() => Interlocked.Increment(ref _tooLong);
    public void AddOtherError() => Interlocked.Increment(ref _otherErrors);
    public void AddSymlink() => Interlocked.Increment(ref _symlinks);

    public override string ToString() =>
        $"{Files:N0} files, {Format.Bytes(Bytes)}, {Directories:N0} directories, {Errors:N0} errors " +
        $"(permission denied {PermissionDenied:N0}, vanished {Vanished:N0}, over-long {TooLong:N0}, other {OtherErrors:N0}), " +
        $"{SymlinksSkipped:N0} symlinks not followed";
}

internal static class Format
{
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : $"{value:0.0} {units[unit]}";
    }
}
