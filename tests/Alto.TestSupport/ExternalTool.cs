using System.Diagnostics;

namespace Alto.TestSupport;

/// <summary>
/// Runs a command-line tool the tests check our output with (promtool, Redocly's CLI): its exit
/// code and everything it printed, with an optional standard input; a tool that is missing says
/// how to get it.
/// </summary>
public static class ExternalTool
{
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string tool, IEnumerable<string> arguments, string howToGetIt, string? standardInput = null, string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null, TimeSpan? patience = null)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardInput = standardInput is not null, RedirectStandardOutput = true, RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? RepositoryPaths.Root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{tool} did not start");
        }
        catch (System.ComponentModel.Win32Exception missing)
        {
            throw new InvalidOperationException($"{tool} is not installed: {howToGetIt}", missing);
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            if (standardInput is not null)
            {
                await process.StandardInput.WriteAsync(standardInput);
                process.StandardInput.Close();
            }
            try
            {
                await process.WaitForExitAsync().WaitAsync(patience ?? TimeSpan.FromMinutes(2));
            }
            catch (TimeoutException)
            {
                // Nothing of a tool that hung outlives the test (a build leaves compilers behind).
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{tool} did not finish within {patience ?? TimeSpan.FromMinutes(2)}");
            }
            return (process.ExitCode, await output + await errors);
        }
    }
}
