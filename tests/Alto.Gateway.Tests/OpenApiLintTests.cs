using System.Text.Json;
using Alto.TestSupport;

namespace Alto.Gateway.Tests;

/// <summary>
/// The API document a client generates from, as a real linter reads it: Redocly's CLI (installed
/// by scripts/test.sh from npm) with its recommended rules finds no error and no warning — every
/// operation has an operationId, a success and an error answer, no operator page is in it, and
/// its server is not the address the gateway binds.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class OpenApiLintTests(GatewayFixture fixture)
{
    private static readonly string Redocly = Path.Combine(RepositoryPaths.Root, "tests", "tier2-servers", "node_modules", ".bin", "redocly");

    [Fact]
    public async Task TheApiDocumentLintsCleanWithRedoclysRecommendedRules()
    {
        using var viewer = fixture.ClientFor("viewer");
        var text = await viewer.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        var folder = Directory.CreateTempSubdirectory("alto-openapi-").FullName;
        var file = Path.Combine(folder, "alto-v1.json");
        await File.WriteAllTextAsync(file, text);

        var (exitCode, output) = await LintAsync(folder, file);

        Assert.True(exitCode == 0, output);
        Assert.Contains("Your API description is valid", output, StringComparison.Ordinal);
        Assert.DoesNotContain("warning", output, StringComparison.OrdinalIgnoreCase);

        using var document = JsonDocument.Parse(text);
        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(path => path.Name).ToList();
        Assert.All(paths, path => Assert.StartsWith("/api/v1/", path, StringComparison.Ordinal));
        Assert.Contains("/api/v1/tenants/{tenantId}/reconcile-runs/{runId}/findings", paths);
        var operations = document.RootElement.GetProperty("paths").EnumerateObject().SelectMany(path => path.Value.EnumerateObject()).ToList();
        Assert.Equal(operations.Count, operations.Select(operation => operation.Value.GetProperty("operationId").GetString()).Distinct().Count());
        Assert.DoesNotContain("localhost", document.RootElement.GetProperty("servers").GetRawText(), StringComparison.Ordinal);
        var export = document.RootElement.GetProperty("paths").GetProperty("/api/v1/tenants/{tenantId}/audit/export").GetProperty("get").GetProperty("responses");
        Assert.True(export.GetProperty("200").GetProperty("content").TryGetProperty("application/x-ndjson", out _), export.GetRawText());
    }

    private static async Task<(int ExitCode, string Output)> LintAsync(string folder, string file)
    {
        // No usage reports leave this machine, and no update check.
        var (exitCode, output) = await ExternalTool.RunAsync(Redocly, ["lint", file, "--format=summary", "--max-problems=1000"],
            "scripts/test.sh installs it (npm ci in tests/tier2-servers)", workingDirectory: folder,
            environment: new Dictionary<string, string> { ["REDOCLY_TELEMETRY"] = "off", ["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true" });
        // Redocly prints a notice about the Node.js version it runs on; its findings are the lines that name a rule.
        return (exitCode, string.Join('\n', output.Split('\n').Where(line => !line.Contains("Node.js", StringComparison.Ordinal))));
    }
}
