using Alto.GrainInterfaces.Tenants;
using Alto.Audit;
using Microsoft.Extensions.DependencyInjection;

namespace Alto.Grains.Tests.Audit;

/// <summary>
/// The chain against tampering. Tampering needs the append-only trigger out of the way, which
/// only a database superuser can do (session_replication_role = replica): that is the attacker
/// these tests play.
/// </summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class AuditChainTests(PostgresClusterFixture fixture)
{
    /// <summary>A new tenant (its creation is entry 1) with <paramref name="entries"/> more entries.</summary>
    private async Task<Guid> TenantWithEntriesAsync(int entries)
    {
        var tenantId = Guid.NewGuid();
        var created = await fixture.Client.GetGrain<ITenantGrain>(tenantId.ToString()).CreateAsync(new CreateTenant($"audit-{tenantId:N}", ""));
        Assert.True(created.Succeeded);
        // Written side by side, as silos and gateways do: the chain still comes out whole.
        await Task.WhenAll(Enumerable.Range(1, entries).Select(i => AuditLog.AppendAsync(fixture.Database.DataSource,
            new AuditEntry(tenantId, $"user:u{i % 3}", "rule.updated", "rule", $"r{i}", true,
                new Dictionary<string, object?> { ["n"] = i, ["text"] = "ünïcödé | ; : -" }) { Origin = "127.0.0.1", Path = i % 2 == 0 ? "/srv/a" : null },
            CancellationToken.None)));
        return tenantId;
    }

    private Task TamperAsync(string sql) =>
        fixture.Database.ExecuteAsync($"SET session_replication_role = replica; {sql}; SET session_replication_role = origin;");

    private Task<AuditChainVerdict> VerifyAsync(Guid tenantId) => AuditChain.VerifyAsync(fixture.Database.DataSource, tenantId, CancellationToken.None);

    [Fact]
    public async Task EntriesWrittenConcurrentlyFormOneUnbrokenNumberedChain()
    {
        var tenantId = await TenantWithEntriesAsync(20);

        var verdict = await VerifyAsync(tenantId);

        Assert.True(verdict.Intact, verdict.Problem);
        Assert.Equal(21, verdict.Entries);
        Assert.Equal(21, await fixture.Database.CountAsync(
            $"SELECT count(DISTINCT chain_seq) FROM alto.audit_log WHERE tenant_id = '{tenantId}' AND chain_seq BETWEEN 1 AND 21"));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{tenantId}' AND prev_hash IS NULL"));
    }

    [Fact]
    public async Task AnEditedEntryIsCaught()
    {
        var tenantId = await TenantWithEntriesAsync(5);
        await TamperAsync($"UPDATE alto.audit_log SET actor = 'user:someone-else' WHERE tenant_id = '{tenantId}' AND chain_seq = 3");

        var verdict = await VerifyAsync(tenantId);

        Assert.False(verdict.Intact);
        Assert.Equal((3L, 2L), (verdict.BrokenAtSeq, verdict.Entries));
        Assert.Contains("changed", verdict.Problem);
    }

    [Fact]
    public async Task AnEditedEntryWhoseOwnHashIsRecomputedBreaksTheNextLink()
    {
        var tenantId = await TenantWithEntriesAsync(5);
        // The attacker also fixes up the edited entry's own hash; the next entry's link still points at the old one.
        await TamperAsync($"""
            UPDATE alto.audit_log SET details = '{"{"}"n": 99{"}"}',
                   hash = alto.audit_entry_hash(prev_hash, chain_seq, at, tenant_id, actor, action, object_type, object_id, outcome,
                                                host_id, path, origin, '{"{"}"n": 99{"}"}')
            WHERE tenant_id = '{tenantId}' AND chain_seq = 2
            """);

        var verdict = await VerifyAsync(tenantId);

        Assert.False(verdict.Intact);
        Assert.Equal(3L, verdict.BrokenAtSeq);
    }

    [Fact]
    public async Task ADeletedEntryIsCaught()
    {
        var tenantId = await TenantWithEntriesAsync(5);
        await TamperAsync($"DELETE FROM alto.audit_log WHERE tenant_id = '{tenantId}' AND chain_seq = 4");

        var verdict = await VerifyAsync(tenantId);

        Assert.False(verdict.Intact);
        Assert.Equal(5L, verdict.BrokenAtSeq);
        Assert.Contains("missing", verdict.Problem);
    }

    [Fact]
    public async Task ReorderedEntriesAreCaught()
    {
        var tenantId = await TenantWithEntriesAsync(5);
        await TamperAsync($"""
            UPDATE alto.audit_log SET chain_seq = -1 WHERE tenant_id = '{tenantId}' AND chain_seq = 2;
            UPDATE alto.audit_log SET chain_seq = 2 WHERE tenant_id = '{tenantId}' AND chain_seq = 3;
            UPDATE alto.audit_log SET chain_seq = 3 WHERE tenant_id = '{tenantId}' AND chain_seq = -1
            """);

        var verdict = await VerifyAsync(tenantId);

        Assert.False(verdict.Intact);
        Assert.Equal(2L, verdict.BrokenAtSeq);
    }

    [Fact]
    public async Task TheAppendOnlyTriggerStillRefusesChangesAndOtherTenantsChainsAreTheirOwn()
    {
        var tenantId = await TenantWithEntriesAsync(3);
        var other = await TenantWithEntriesAsync(2);
        await Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
            fixture.Database.ExecuteAsync($"UPDATE alto.audit_log SET actor = 'x' WHERE tenant_id = '{tenantId}'"));
        await Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
            fixture.Database.ExecuteAsync($"DELETE FROM alto.audit_log WHERE tenant_id = '{tenantId}'"));

        Assert.Equal((true, 4L), ((await VerifyAsync(tenantId)).Intact, (await VerifyAsync(tenantId)).Entries));
        Assert.Equal((true, 3L), ((await VerifyAsync(other)).Intact, (await VerifyAsync(other)).Entries));
    }

    [Fact]
    public async Task TheWatchFindsATamperedTrailByItselfOnceAndReportsIt()
    {
        var tenantId = await TenantWithEntriesAsync(4);
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var gauge = new AuditChainGauge(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        var watch = new AuditChainWatch(fixture.Database.DataSource, Microsoft.Extensions.Options.Options.Create(new AuditChainWatchOptions()), gauge, clock,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<AuditChainWatch>.Instance);
        // Other tests break other chains in this database: only this tenant's is looked at (the gauge counts them all).
        var chain = tenantId.ToString();
        string BrokenReports() => $"SELECT count(*) FROM alto.audit_log WHERE tenant_id IS NULL AND action = 'audit.chain_broken' AND object_id = '{tenantId}'";

        await watch.PassAsync(CancellationToken.None);
        Assert.False(gauge.IsBroken(chain));

        // A new entry, then an edit of it before the next pass: the pass checks only what is new, and finds it.
        await AuditLog.AppendAsync(fixture.Database.DataSource, new AuditEntry(tenantId, "user:u1", "rule.created", "rule", "r9", true, new Dictionary<string, object?>()), CancellationToken.None);
        await TamperAsync($"UPDATE alto.audit_log SET outcome = 'failure' WHERE tenant_id = '{tenantId}' AND chain_seq = 6");
        await watch.PassAsync(CancellationToken.None);
        Assert.True(gauge.IsBroken(chain));
        Assert.Equal(1, await fixture.Database.CountAsync(BrokenReports()));
        Assert.Equal(1, await fixture.Database.CountAsync($"{BrokenReports()} AND details->>'brokenAtSeq' = '6'"));
        // Still broken at the next pass: counted, not reported again.
        await watch.PassAsync(CancellationToken.None);
        Assert.Equal((true, 1L), (gauge.IsBroken(chain), await fixture.Database.CountAsync(BrokenReports())));

        // Put right, the chain reads intact again; an edit of an entry checked long ago is found by the whole check of the day.
        await TamperAsync($"UPDATE alto.audit_log SET outcome = 'success' WHERE tenant_id = '{tenantId}' AND chain_seq = 6");
        await watch.PassAsync(CancellationToken.None);
        Assert.False(gauge.IsBroken(chain));
        await TamperAsync($"UPDATE alto.audit_log SET actor = 'user:someone-else' WHERE tenant_id = '{tenantId}' AND chain_seq = 2");
        await watch.PassAsync(CancellationToken.None);
        Assert.False(gauge.IsBroken(chain));
        clock.Advance(TimeSpan.FromDays(1));
        await watch.PassAsync(CancellationToken.None);
        Assert.True(gauge.IsBroken(chain));
        Assert.Equal(1, await fixture.Database.CountAsync($"{BrokenReports()} AND details->>'brokenAtSeq' = '2'"));
    }
}
