namespace Alto.TestSupport;

/// <summary>Finds the repository and the build output of Alto's programs, for tests that run them as processes.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>A file of tests/fixtures: inputs written by other tools than Alto (each folder's README says how).</summary>
    public static string Fixture(string folder, string name) => Path.Combine(Root, "tests", "fixtures", folder, name);

    /// <summary>The built dll of a program, in the same configuration as the running tests.</summary>
    public static string ProgramDll(string projectFolder, string assemblyName)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            ? "Release"
            : "Debug";
        var path = Path.Combine(Root, projectFolder, "bin", configuration, "net10.0", assemblyName + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build {projectFolder} first: {path} is missing", path);
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Alto.sln")))
            {
                return directory.FullName;
            }
        }
        throw new DirectoryNotFoundException("Alto.sln not found above " + AppContext.BaseDirectory);
    }
}
