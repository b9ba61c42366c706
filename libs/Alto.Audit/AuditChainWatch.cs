using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Alto.Audit;

/// <summary>How often the cluster checks its audit chains by itself (Alto:Audit:Verify).</summary>
public sealed class AuditChainWatchOptions
{
    public const string Section = "Alto:Audit:Verify";

    /// <summary>Entries written since the last pass are checked this often (00:00:00 turns the watch off).</summary>
    public TimeSpan Every { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Every chain is checked whole this often, so an entry edited after it was checked is caught too.</summary>
    public TimeSpan WholeEvery { get; set; } = TimeSpan.FromDays(1);

}

/// <summary>Refuses a start with a watch interval out of range, saying which.</summary>
public sealed class AuditChainWatchOptionsValidation : IValidateOptions<AuditChainWatchOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditChainWatchOptions options)
    {
        var failures = new List<string>();
        if (options.Every < TimeSpan.Zero || options.Every > TimeSpan.FromDays(1))
        {
            failures.Add("Alto:Audit:Verify:Every must be between 00:00:00 (off) and 1.00:00:00");
        }
        if (options.WholeEvery < TimeSpan.FromMinutes(1) || options.WholeEvery > TimeSpan.FromDays(31))
        {
            failures.Add("Alto:Audit:Verify:WholeEvery must be between 00:01:00 and 31.00:00:00");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// Audit chains found broken (alto_audit_chains_broken): 0 until a pass finds one, then how many
/// are broken. Reported from the first scrape; only the process that holds the watch counts.
/// </summary>
public sealed class AuditChainGauge
{
    private readonly ConcurrentDictionary<string, bool> _broken = new(StringComparer.Ordinal);

    public AuditChainGauge(IMeterFactory meters) =>
        meters.Create(AuditForwardGauge.MeterName).CreateObservableGauge("alto.audit.chains_broken",
            () => _broken.Count(chain => chain.Value),
            "{chain}", "Audit chains (the platform's and each tenant's) whose last verification found a break");

    public void Set(string chain, bool broken) => _broken[chain] = broken;

    public int Broken => _broken.Count(chain => chain.Value);

    /// <summary>Whether the chain's last verification found a break.</summary>
    public bool IsBroken(string chain) => _broken.GetValueOrDefault(chain);
}

/// <summary>
/// Verifies every audit chain by itself, as an auditor would, so a tampered trail is found the day
/// it happens and not when someone next asks: each pass checks the entries written since the last
/// one, linked to where it stopped, and every <see cref="AuditChainWatchOptions.WholeEvery"/> each
/// chain from its start. One process of the cluster watches (an advisory lock). A break is
/// logged, counted in alto_audit_chains_broken (alert AltoAuditChainBroken) and recorded in the
/// platform's trail (audit.chain_broken), once per chain until it reads intact again.
/// </summary>
public sealed partial class AuditChainWatch(
    NpgsqlDataSource db, IOptions<AuditChainWatchOptions> options, AuditChainGauge gauge, TimeProvider time, ILogger<AuditChainWatch> logger)
    : BackgroundService
{
    private const int LockNamespace = 1096041585;
    public const string PlatformChain = "platform";
    private readonly Dictionary<string, AuditChainVerdict> _verified = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reported = new(StringComparer.Ordinal);
    private DateTimeOffset _wholeCheckedAt = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var every = options.Value.Every;
        if (every == TimeSpan.Zero)
        {
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await db.OpenConnectionAsync(stoppingToken);
                if (await TryLockAsync(connection, stoppingToken))
                {
                    // Held for as long as this connection lives: the other processes stay out.
                    while (!stoppingToken.IsCancellationRequested)
                    {
                        await PassAsync(stoppingToken);
                        await Task.Delay(every, time, stoppingToken);
                    }
                }
            }
            catch (NpgsqlException exception)
            {
                LogDatabaseUnavailable(logger, exception);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            try
            {
                await Task.Delay(every, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One pass over every chain: what was written since the last pass, or everything when a whole check is due.</summary>
    public async Task PassAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (now - _wholeCheckedAt >= options.Value.WholeEvery)
        {
            _verified.Clear();
            _wholeCheckedAt = now;
        }
        foreach (var tenantId in await AuditChain.ChainsAsync(db, cancellationToken))
        {
            var chain = tenantId?.ToString() ?? PlatformChain;
            var verdict = await AuditChain.VerifyAsync(db, tenantId, _verified.GetValueOrDefault(chain), cancellationToken);
            if (verdict.Intact)
            {
                _verified[chain] = verdict;
                _reported.Remove(chain);
                gauge.Set(chain, false);
                continue;
            }
            // Checked whole again at the next pass: the break must be fixed at its place, not passed over.
            _verified.Remove(chain);
            gauge.Set(chain, true);
            if (_reported.Add(chain))
            {
                LogBroken(logger, chain, verdict.BrokenAtSeq ?? 0, verdict.Problem ?? "");
                await AuditLog.AppendAsync(db, new AuditEntry(null, "system:audit-watch", "audit.chain_broken", "audit_chain", chain, false,
                    new Dictionary<string, object?> { ["brokenAtSeq"] = verdict.BrokenAtSeq, ["problem"] = verdict.Problem, ["intactEntries"] = verdict.Entries }),
                    cancellationToken);
            }
        }
    }

    private static async Task<bool> TryLockAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var take = new NpgsqlCommand("SELECT pg_try_advisory_lock($1, 0)", connection);
        take.Parameters.Add(new NpgsqlParameter<int> { TypedValue = LockNamespace });
        return await take.ExecuteScalarAsync(cancellationToken) is true;
    }

    public static IServiceCollection AddAuditChainWatch(IServiceCollection services)
    {
        services.AddOptions<AuditChainWatchOptions>().BindConfiguration(AuditChainWatchOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuditChainWatchOptions>, AuditChainWatchOptionsValidation>();
        services.AddMetrics();
        services.AddSingleton<AuditChainGauge>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<AuditChainWatch>();
        services.AddHostedService(provider => provider.GetRequiredService<AuditChainWatch>());
        return services;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The audit chain {Chain} is broken at entry {Seq}: {Problem}")]
    private static partial void LogBroken(ILogger logger, string chain, long seq, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The audit chain watch waits for the database")]
    private static partial void LogDatabaseUnavailable(ILogger logger, Exception exception);
}
