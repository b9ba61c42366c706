using System.Text;
using Alto.Agent.Stubs;

namespace Alto.Agent.Cli;

/// <summary>
/// The command line's arguments under their own bytes. .NET decodes the command line as UTF-8 and
/// writes U+FFFD for every byte that is not, so a file named in Latin-1 or Shift-JIS and typed on
/// the command line (<c>alto-agent recall /srv/caf\xE9.pdf</c>) would name no file. Such an
/// argument is read again from <c>/proc/self/cmdline</c>, its odd bytes kept as <see cref="RawPaths"/>
/// keeps them, which every libc call of the agent writes back as they were.
/// </summary>
public static class RawArguments
{
    private const char Replacement = '\uFFFD';

    /// <summary><paramref name="args"/>, each one that .NET could not decode replaced by its exact bytes where the kernel still has them.</summary>
    public static string[] Of(string[] args)
    {
        if (!OperatingSystem.IsLinux() || !args.Any(argument => argument.Contains(Replacement, StringComparison.Ordinal)))
        {
            return args;
        }
        byte[] commandLine;
        try
        {
            commandLine = File.ReadAllBytes("/proc/self/cmdline");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return args;
        }
        return Restore(args, Split(commandLine));
    }

    /// <summary>
    /// The arguments with their raw forms put back. The program's own arguments are the last ones of
    /// the process's (before them come the host and its options, <c>dotnet alto-agent.dll</c>); an
    /// argument is taken from its raw form only when that form decodes to exactly what .NET gave,
    /// so a command line the process changed is never misread.
    /// </summary>
    public static string[] Restore(string[] args, IReadOnlyList<byte[]> processArguments)
    {
        if (processArguments.Count < args.Length)
        {
            return args;
        }
        var first = processArguments.Count - args.Length;
        var restored = new string[args.Length];
        for (var i = 0; i < args.Length; i++)
        {
            var raw = processArguments[first + i];
            restored[i] = args[i].Contains(Replacement, StringComparison.Ordinal) && Encoding.UTF8.GetString(raw) == args[i]
                ? RawPaths.FromBytes(raw)
                : args[i];
        }
        return restored;
    }

    /// <summary>The NUL-terminated arguments of <c>/proc/PID/cmdline</c>.</summary>
    public static List<byte[]> Split(ReadOnlySpan<byte> commandLine)
    {
        var arguments = new List<byte[]>();
        while (!commandLine.IsEmpty)
        {
            var end = commandLine.IndexOf((byte)0);
            if (end < 0)
            {
                end = commandLine.Length;
            }
            arguments.Add(commandLine[..end].ToArray());
            commandLine = end == commandLine.Length ? [] : commandLine[(end + 1)..];
        }
        return arguments;
    }
}
