using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Alto.Audit;
using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tenants;
using Alto.Grains.Persistence;
using Alto.TestSupport;

namespace Alto.Grains.Tests.Audit;

/// <summary>
/// A change is stored with its audit entry in one state write; the entry is appended after. When
/// the audit log will not take it, the change still stands (the caller is not told otherwise), the
/// entry is kept, and it reaches the log later, once. The audit log is made to refuse entries with
/// a trigger, inside PostgreSQL, for one tenant only (<see cref="AuditLogRefusal"/>).
/// </summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class HeldAuditTests(PostgresClusterFixture fixture) : IDisposable
{
    private readonly ConcurrentDictionary<string, long> _deferredByGrain = new();
    private readonly MeterListener _deferred = new();

    private void ListenForDeferrals()
    {
        _deferred.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == "alto.grain.follow_ups_deferred")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _deferred.SetMeasurementEventCallback<long>((_, count, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "grain", Value: string grain })
                {
                    _deferredByGrain.AddOrUpdate(grain, count, (_, sum) => sum + count);
                }
            }
        });
        _deferred.Start();
    }

    public void Dispose() => _deferred.Dispose();

    private Task<InsertRefusal> RefuseEntriesAsync(Guid tenantId) => AuditLogRefusal.StartAsync(fixture.Database, tenantId);

    private async Task<(ITenantGrain Tenant, Guid TenantId, Guid TargetId)> TenantWithTargetAsync()
    {
        var tenantId = Guid.NewGuid();
        var tenant = fixture.Client.GetGrain<ITenantGrain>(tenantId.ToString());
        Assert.True((await tenant.CreateAsync(new CreateTenant($"held-{tenantId:N}", ""))).Succeeded);
        var target = await tenant.AddTargetAsync(new CreateStorageTarget(Guid.NewGuid(), "archive", StorageTargetKind.Path,
            new StorageTargetSettings("/mnt/tier2", null, null, null, null, null, null, false), null));
        Assert.True(target.Succeeded, target.Error?.Message);
        return (tenant, tenantId, target.Value!.Id);
    }

    private static RuleDefinition Cold(Guid targetId, string glob) =>
        new("cold", null, true, RuleAction.Tier, targetId, null, RuleCriteria.None with { PathGlobs = [glob] });

    private Task<long> EntriesAsync(string action, Guid ruleId) =>
        fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = '{action}' AND object_id = '{ruleId}'");

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task ARuleChangeWhoseEntryTheLogRefusesStandsAndItsEntryFollowsOnce()
    {
        ListenForDeferrals();
        var (tenant, tenantId, targetId) = await TenantWithTargetAsync();
        var ruleId = Guid.NewGuid();
        var before = DateTimeOffset.UtcNow;

        var refusal = await RefuseEntriesAsync(tenantId);
        CommandResult<RuleInfo> added;
        try
        {
            added = await tenant.AddRuleAsync(ruleId, Cold(targetId, "/srv/**"));

            // Stored, mirrored and answered as made; its entry is held, not lost, and the deferral counted.
            Assert.True(added.Succeeded, added.Error?.Message);
            Assert.NotNull(await tenant.GetRuleAsync(ruleId));
            Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.rule WHERE id = '{ruleId}'"));
            Assert.Equal(0, await EntriesAsync("rule.created", ruleId));
            Assert.True(_deferredByGrain.GetValueOrDefault("tenant") >= 1, "the deferral was not counted");

            // Still refused: a second change is stored too, both entries held in order.
            Assert.True((await tenant.UpdateRuleAsync(ruleId, Cold(targetId, "/data/**"))).Succeeded);
        }
        finally
        {
            await refusal.DisposeAsync();
        }

        // The grain's retry appends both, in the order made, each stamped with when it was made.
        await WaitForAsync(async () => await EntriesAsync("rule.updated", ruleId) == 1, FollowUps.RetryPeriod * 4, "the held entries");
        Assert.Equal(1, await EntriesAsync("rule.created", ruleId));
        Assert.Equal(1, await fixture.Database.CountAsync($"""
            SELECT count(*) FROM alto.audit_log c JOIN alto.audit_log u ON u.tenant_id = c.tenant_id
            WHERE c.action = 'rule.created' AND u.action = 'rule.updated' AND c.object_id = '{ruleId}' AND u.object_id = '{ruleId}'
              AND c.chain_seq < u.chain_seq AND c.at >= '{before:O}' AND c.at <= u.at AND u.details->'after'->'criteria'->'pathGlobs'->>0 = '/data/**'
            """));

        // The entries are still in the stored state until its next write: an activation appends them again, and nothing doubles.
        await fixture.Cluster.DeactivateAsync(tenant);
        Assert.True((await tenant.DeleteRuleAsync(ruleId)).Succeeded);
        Assert.Equal((1L, 1L, 1L), (await EntriesAsync("rule.created", ruleId), await EntriesAsync("rule.updated", ruleId), await EntriesAsync("rule.deleted", ruleId)));
        Assert.True((await AuditChain.VerifyAsync(fixture.Database.DataSource, tenantId, CancellationToken.None)).Intact);
    }

    [Fact]
    public async Task AHostsChangesWhoseEntriesTheLogRefusesStandAndTheirEntriesFollow()
    {
        var (_, tenantId, _) = await TenantWithTargetAsync();
        var hostId = Guid.NewGuid();
        var host = fixture.Client.GetGrain<IHostGrain>(hostId.ToString());
        var entries = $"SELECT count(*) FROM alto.audit_log WHERE host_id = '{hostId}' AND action IN ('host.registered', 'host.enrollment_token_revoked')";

        await using (await RefuseEntriesAsync(tenantId))
        {
            Assert.True((await host.RegisterAsync(new RegisterHost(tenantId, "fs01", HostOs.Linux, ["/srv"], TimeSpan.FromHours(1)))).Succeeded);
            var revoked = await host.RevokeEnrollmentTokenAsync();

            Assert.True(revoked.Succeeded, revoked.Error?.Message);
            Assert.Null(revoked.Value!.EnrollmentExpiresAt);
            Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.host WHERE id = '{hostId}'"));
            Assert.Equal(0, await fixture.Database.CountAsync(entries));
        }

        await WaitForAsync(async () => await fixture.Database.CountAsync(entries) == 2, FollowUps.RetryPeriod * 4, "the host's held entries");
    }

    [Fact]
    public async Task AHeldEntryIsAppendedWhenTheGrainIsNextActivated()
    {
        var (tenant, tenantId, targetId) = await TenantWithTargetAsync();
        var ruleId = Guid.NewGuid();
        await using (await RefuseEntriesAsync(tenantId))
        {
            Assert.True((await tenant.AddRuleAsync(ruleId, Cold(targetId, "/srv/**"))).Succeeded);
            // The silo lets the grain go before its retry: only its stored state holds the entry now.
            await fixture.Cluster.DeactivateAsync(tenant);
        }

        Assert.NotNull(await tenant.GetRuleAsync(ruleId));
        Assert.Equal(1, await EntriesAsync("rule.created", ruleId));
    }

    /// <summary>
    /// A tenant is made whether or not its key can be made at that moment (the key service or
    /// database out of reach just then: here the key table refuses the tenant's rows); the call
    /// says it was made, with its entry, and the key is made at its first use.
    /// </summary>
    [Fact]
    public async Task ATenantWhoseKeyCannotBeMadeYetIsCreatedAndItsKeyIsMadeAtFirstUse()
    {
        var tenantId = Guid.NewGuid();
        var tenant = fixture.Client.GetGrain<ITenantGrain>(tenantId.ToString());
        var keyRows = $"SELECT count(*) FROM alto.tenant_key WHERE tenant_id = '{tenantId}'";

        await using (await InsertRefusal.StartAsync(fixture.Database, "alto.tenant_key", $"NEW.tenant_id = '{tenantId}'"))
        {
            var created = await tenant.CreateAsync(new CreateTenant($"keyless-{tenantId:N}", ""));

            Assert.True(created.Succeeded, created.Error?.Message);
            Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tenant WHERE id = '{tenantId}'"));
            Assert.Equal(1, await fixture.Database.CountAsync(
                $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{tenantId}' AND action = 'tenant.created'"));
            Assert.Equal(0, await fixture.Database.CountAsync(keyRows));
        }

        var sealedTarget = await tenant.AddTargetAsync(new CreateStorageTarget(Guid.NewGuid(), "s3", StorageTargetKind.S3,
            new StorageTargetSettings(null, "alto", "us-east-1", "http://127.0.0.1:9", null, null, null, true),
            new StorageTargetCredentials("key", "secret", null, null, null, null)));

        Assert.True(sealedTarget.Succeeded, sealedTarget.Error?.Message);
        Assert.Equal(1, await fixture.Database.CountAsync(keyRows));
    }

    [Fact]
    public async Task AnEntryAppendedAgainIsRecordedOnce()
    {
        var (_, tenantId, _) = await TenantWithTargetAsync();
        var audit = new AdminAudit(fixture.Database.DataSource);
        var entry = AdminAudit.Prepare(tenantId, "rule.updated", "rule", "r1", null, new { name = "cold" }, DateTimeOffset.UtcNow);

        await audit.AppendAsync([entry]);
        await audit.AppendAsync([entry, entry]);

        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE change_id = '{entry.ChangeId}'"));
        Assert.True((await AuditChain.VerifyAsync(fixture.Database.DataSource, tenantId, CancellationToken.None)).Intact);
    }

    [Fact]
    public async Task AnEntryTheLogCannotHoldIsRecordedAsUnrecordableAndDoesNotHoldBackTheNext()
    {
        var (_, tenantId, _) = await TenantWithTargetAsync();
        var audit = new AdminAudit(fixture.Database.DataSource);
        // jsonb takes no NUL: no retry would ever append this one as it is.
        var poisoned = AdminAudit.Prepare(tenantId, "rule.updated", "rule", "r1", null, new { name = "co\0ld" }, DateTimeOffset.UtcNow);
        var next = AdminAudit.Prepare(tenantId, "rule.deleted", "rule", "r1", null, null, DateTimeOffset.UtcNow);

        await audit.AppendAsync([poisoned, next]);

        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE change_id = '{poisoned.ChangeId}' AND action = 'rule.updated' AND details ? 'unrecordable'"));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE change_id = '{next.ChangeId}' AND action = 'rule.deleted'"));
    }
}
