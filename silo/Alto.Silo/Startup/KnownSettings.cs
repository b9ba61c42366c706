using System.Collections;
using System.Reflection;

namespace Alto.Silo.Startup;

/// <summary>
/// Every setting under <c>Alto:</c> a process reads, so that one it does not read — a typing
/// mistake such as <c>Alto:Ingest:MaxConcurentMerges</c>, which .NET's configuration would pass
/// over in silence and leave the default in force — stops the start with its name and the
/// closest known one (exit code 2). The settings are the properties of the options classes
/// (each names its section in a <c>public const string Section</c>) of the given assemblies;
/// sections another process of the installation reads (a gateway's, in a silo sharing its
/// configuration) are passed by whole.
/// </summary>
public sealed class KnownSettings
{
    private const string Root = "Alto:";
    private readonly HashSet<string> _settings = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _openPrefixes = [];
    private readonly string[] _otherProcesses;

    private KnownSettings(IEnumerable<Assembly> assemblies, string[] otherProcesses)
    {
        _otherProcesses = otherProcesses;
        foreach (var type in assemblies.SelectMany(assembly => assembly.GetTypes()))
        {
            if (type.GetField("Section", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } field
                && field.GetRawConstantValue() is string section && section.StartsWith(Root, StringComparison.Ordinal))
            {
                Add(section, type);
            }
        }
    }

    /// <summary>The sections only a gateway reads; a silo passes them by, as one configuration file may serve both.</summary>
    public static readonly string[] GatewaySections = ["Alto:Gateway", "Alto:Auth", "Alto:Hosts", "Alto:Agents", "Alto:ScanUpload"];

    /// <summary>The assemblies whose options every silo reads: its own, the grains', the keys' and the audit trail's.</summary>
    public static readonly Assembly[] ClusterAssemblies =
    [
        typeof(KnownSettings).Assembly, typeof(Grains.Scans.IngestOptions).Assembly, typeof(Keys.KeyOptions).Assembly, typeof(Audit.AuditForwardOptions).Assembly,
    ];

    /// <summary>The settings of the options classes in <paramref name="assemblies"/>; <paramref name="otherProcesses"/> are sections read elsewhere.</summary>
    public static KnownSettings Of(IEnumerable<Assembly> assemblies, params string[] otherProcesses) => new(assemblies, otherProcesses);

    /// <summary>A standalone silo's settings.</summary>
    public static KnownSettings ForSilo() => Of(ClusterAssemblies, GatewaySections);

    /// <summary>A gateway's settings: its own and, as it may run a silo inside, the cluster's.</summary>
    public static KnownSettings ForGateway(Assembly gateway) => Of([gateway, .. ClusterAssemblies]);

    /// <summary>Every setting a configuration may give, as <c>Alto:Section:Key</c>.</summary>
    public IReadOnlyCollection<string> Settings => _settings;

    /// <exception cref="SettingException">A setting under <c>Alto:</c> that no part of the installation reads.</exception>
    public void Check(IConfiguration configuration)
    {
        var given = configuration.AsEnumerable()
            .Where(setting => setting.Value is not null && setting.Key.StartsWith(Root, StringComparison.OrdinalIgnoreCase))
            .Select(setting => setting.Key)
            .Order(StringComparer.OrdinalIgnoreCase)
            .ToArray();
        // Only settings themselves: some providers also give each section above them a value (an empty one).
        var sections = given.SelectMany(Ancestors).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var unknown = given.Where(key => !sections.Contains(key) && !IsKnown(key)).ToArray();
        if (unknown.Length > 0)
        {
            throw new SettingException(string.Join("; ", unknown.Select(Describe)));
        }
    }

    private static IEnumerable<string> Ancestors(string key)
    {
        for (var end = key.LastIndexOf(':'); end > 0; end = key.LastIndexOf(':', end - 1))
        {
            yield return key[..end];
        }
    }

    /// <summary>Whether a setting is one of the known ones (or below a list or map of them, or another process's).</summary>
    public bool IsKnown(string setting) =>
        _settings.Contains(setting)
        || _openPrefixes.Any(prefix => setting.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        || _otherProcesses.Any(section => setting.StartsWith(section + ":", StringComparison.OrdinalIgnoreCase));

    private string Describe(string setting) =>
        Closest(setting) is { } near
            ? $"unknown setting {setting} (not read by any part of Alto; did you mean {near}?)"
            : $"unknown setting {setting} (not read by any part of Alto; see the README's configuration reference)";

    /// <summary>
    /// The known setting nearest in spelling, when it is near enough to be what was meant; a
    /// mistyped section read by another process is matched on its section's name.
    /// </summary>
    private string? Closest(string setting)
    {
        var (best, distance) = (default(string), int.MaxValue);
        var rest = setting.IndexOf(':', Root.Length) is > 0 and var end ? setting[end..] : "";
        foreach (var known in _settings.Concat(_otherProcesses.Select(section => section + rest)))
        {
            var d = EditDistance(setting.ToUpperInvariant(), known.ToUpperInvariant());
            if (d < distance)
            {
                (best, distance) = (known, d);
            }
        }
        return distance <= Math.Max(2, setting.Length / 6) ? best : null;
    }

    private void Add(string prefix, Type options)
    {
        foreach (var property in options.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is not { IsPublic: true } && !IsBoundCollection(property.PropertyType))
            {
                // Computed (GrpcPort) or read-only: the binder sets nothing there.
                continue;
            }
            var key = prefix + ":" + property.Name;
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (IsBoundCollection(type))
            {
                _openPrefixes.Add(key + ":");
            }
            else if (IsLeaf(type))
            {
                _settings.Add(key);
            }
            else
            {
                Add(key, type);
            }
        }
    }

    private static bool IsLeaf(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
        || type == typeof(Uri) || type == typeof(DateTimeOffset) || type == typeof(DateTime) || type == typeof(Guid);

    private static bool IsBoundCollection(Type type) => type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type);

    private static int EditDistance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        var current = new int[b.Length + 1];
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
