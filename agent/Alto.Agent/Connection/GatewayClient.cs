using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

using Alto.Agent.Enrollment;
using Alto.Scanning;

namespace Alto.Agent.Connection;

/// <summary>What the gateway tells an enrolled agent about its own host.</summary>
public sealed record AgentHostInfo(Guid HostId, Guid TenantId, string Name, string[] Volumes);

/// <summary>
/// The agent's REST calls to the gateway, made with the host credential (the session itself is
/// gRPC, in <see cref="AgentConnection"/>): its own host, data keys, stub checks, trail updates and
/// storage targets.
/// </summary>
public sealed class GatewayClient(HttpClient http, AgentCredentials credentials)
{
    public async Task<AgentHostInfo> GetOwnHostAsync(CancellationToken cancellationToken)
    {
        using var request = Authorized(HttpMethod.Get, "/api/v1/agents/me");
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new EnrollmentException($"the gateway refused this host's credential ({(int)response.StatusCode}); enroll again");
        }
        return await response.Content.ReadFromJsonAsync<AgentHostInfo>(cancellationToken)
            ?? throw new EnrollmentException("the gateway sent an empty answer");
    }

    /// <summary>The id of this host's last ingested scan (null: none yet), which an incremental scan continues.</summary>
    public async Task<Guid?> GetLastScanAsync(CancellationToken cancellationToken)
    {
        using var request = Authorized(HttpMethod.Get, $"/api/v1/scan-results/last?hostId={credentials.HostId}&tenantId={credentials.TenantId}");
        using var response = await http.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<LastScan>(cancellationToken))?.ScanId;
    }

    private sealed record LastScan(Guid? ScanId);

    /// <summary>The data key of an encrypted object of this host's tenant, unwrapped by the cluster (which alone holds the tenant key).</summary>
    public async Task<byte[]> UnwrapDataKeyAsync(string wrapped, CancellationToken cancellationToken)
    {
        using var request = Authorized(HttpMethod.Post, "/api/v1/agents/data-keys/unwrap", new { wrapped });
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException exception)
        {
            throw new IOException($"the gateway could not be reached to unwrap the object's key: {exception.Message}", exception);
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidDataException($"the gateway would not unwrap the object's key ({(int)response.StatusCode}): {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }
            var answer = await response.Content.ReadFromJsonAsync<UnwrappedKey>(cancellationToken);
            return Convert.FromBase64String(answer?.Key ?? throw new InvalidDataException("the gateway sent no key"));
        }
    }

    private sealed record UnwrappedKey(string Key);

    /// <summary>
    /// The cluster's word on a stub about to be recalled: confirmed or unknown (200), refused (403,
    /// with the reason), or unreachable (no answer within <paramref name="patience"/>, a 5xx, or a
    /// credential the gateway no longer takes).
    /// </summary>
    public async Task<Stubs.StubAnswer> CheckStubAsync(Stubs.StubQuestion question, TimeSpan patience, CancellationToken cancellationToken)
    {
        using var request = Authorized(HttpMethod.Post, "/api/v1/agents/stubs/check", new
        {
            path = question.Path, locator = question.Locator, sha256 = question.Sha256, legacy = question.Legacy, bindingProblem = question.BindingProblem,
        });
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(patience);
        try
        {
            using var response = await http.SendAsync(request, timeout.Token);
            if (response.StatusCode == System.Net.HttpStatusCode.Forbidden)
            {
                var problem = await response.Content.ReadFromJsonAsync<StubProblem>(timeout.Token);
                return new Stubs.StubAnswer(Stubs.StubVerdict.Refused, problem?.Detail ?? "the cluster refused the stub");
            }
            if (!response.IsSuccessStatusCode)
            {
                return new Stubs.StubAnswer(Stubs.StubVerdict.Unreachable, $"the gateway answered {(int)response.StatusCode}");
            }
            var answer = await response.Content.ReadFromJsonAsync<StubCheckAnswer>(timeout.Token);
            return answer?.Verdict switch
            {
                "confirmed" => new Stubs.StubAnswer(Stubs.StubVerdict.Confirmed),
                "unknown" => new Stubs.StubAnswer(Stubs.StubVerdict.Unknown),
                _ => new Stubs.StubAnswer(Stubs.StubVerdict.Unreachable, "the gateway sent no verdict"),
            };
        }
        catch (Exception exception) when (exception is HttpRequestException or System.Text.Json.JsonException
                                              || exception is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new Stubs.StubAnswer(Stubs.StubVerdict.Unreachable, exception.Message);
        }
    }

    private sealed record StubCheckAnswer(string? Verdict);

    private sealed record StubProblem(string? Detail);

    /// <summary>Uploads one batch of LucidLink trail updates; null when it was taken, else why the gateway refused the batch itself.</summary>
    /// <exception cref="HttpRequestException">The gateway could not be reached, failed, was busy or refused the credential: the batch is sent again later.</exception>
    public async Task<string?> SendTrailUpdatesAsync(TrailUpdateBatch batch, CancellationToken cancellationToken)
    {
        using var request = Authorized(HttpMethod.Post, "/api/v1/audit-updates", batch);
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return null;
        }
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        // Only a judgement on the batch itself is final; a busy, failing or unconvinced gateway is asked again later.
        if ((int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
            or HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)
        {
            throw new HttpRequestException($"the gateway answered {(int)response.StatusCode}", null, response.StatusCode);
        }
        return $"{(int)response.StatusCode}: {(body.Length > 500 ? body[..500] : body)}";
    }

    /// <summary>A storage target of this host's tenant with its secrets, asked for when a recall needs one no job brought yet.</summary>
    /// <summary>A storage target with its secrets, asked for a <paramref name="reason"/> (<see cref="TargetDirectory.ForRecall"/> or <see cref="TargetDirectory.ForReconcile"/>) the cluster audits.</summary>
    public async Task<Tiering.TierTarget> GetTargetAsync(Guid targetId, string reason, CancellationToken cancellationToken)
    {
        using var request = Authorized(HttpMethod.Post, $"/api/v1/agents/targets/{targetId}/access?reason={reason}");
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidDataException($"the gateway would not hand out storage target {targetId} ({(int)response.StatusCode})");
        }
        return await response.Content.ReadFromJsonAsync<Tiering.TierTarget>(cancellationToken)
            ?? throw new InvalidDataException("the gateway sent an empty target");
    }

    /// <summary>A reconciliation run this agent lists (its target, depth and cursor).</summary>
    public async Task<Reconcile.ReconcileRunOrder> GetReconcileRunAsync(Guid runId, CancellationToken cancellationToken)
    {
        using var request = Authorized(HttpMethod.Get, $"/api/v1/agents/reconcile-runs/{runId}");
        using var response = await http.SendAsync(request, cancellationToken);
        await ThrowUnlessSuccessAsync(response, $"reconcile run {runId}", cancellationToken);
        return await response.Content.ReadFromJsonAsync<Reconcile.ReconcileRunOrder>(cancellationToken)
            ?? throw new InvalidDataException("the gateway sent an empty run");
    }

    /// <summary>Sends the next part of a run's listing; the run's receipt (its cursor and status).</summary>
    /// <exception cref="HttpRequestException">The gateway could not be reached, failed or was busy: the part may be sent again.</exception>
    /// <exception cref="InvalidDataException">The run refused the part (the reason is in the message).</exception>
    public async Task<Reconcile.ListingReceipt> SendListingPartAsync(Guid runId, ListingPart part, CancellationToken cancellationToken)
    {
        using var request = Authorized(HttpMethod.Post, $"/api/v1/agents/reconcile-runs/{runId}/listing");
        // Packed, not JSON: a million-object listing is parts of thousands, and JSON cost more CPU than the listing.
        request.Content = new ByteArrayContent(ListingPartFormat.Write(part));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(ListingPartFormat.ContentType);
        using var response = await http.SendAsync(request, cancellationToken);
        await ThrowUnlessSuccessAsync(response, $"a part of reconcile run {runId}", cancellationToken);
        return await response.Content.ReadFromJsonAsync<Reconcile.ListingReceipt>(cancellationToken)
            ?? throw new InvalidDataException("the gateway sent an empty receipt");
    }

    /// <summary>The next orphans a reclaiming run gives its listing agent to delete, with the cut-off.</summary>
    public async Task<Reconcile.ReclaimBatch> GetReclaimAsync(Guid runId, CancellationToken cancellationToken)
    {
        using var request = Authorized(HttpMethod.Get, $"/api/v1/agents/reconcile-runs/{runId}/reclaim");
        using var response = await http.SendAsync(request, cancellationToken);
        await ThrowUnlessSuccessAsync(response, $"the orphans of reconcile run {runId}", cancellationToken);
        return await response.Content.ReadFromJsonAsync<Reconcile.ReclaimBatch>(cancellationToken)
            ?? throw new InvalidDataException("the gateway sent an empty batch");
    }

    /// <summary>Says what was done with orphans of a batch; the answer says whether the run still reclaims.</summary>
    public async Task<Reconcile.ReclaimReceipt> SendReclaimedAsync(Guid runId, IReadOnlyList<Reconcile.ReclaimedObject> results, CancellationToken cancellationToken)
    {
        using var request = Authorized(HttpMethod.Post, $"/api/v1/agents/reconcile-runs/{runId}/reclaimed", new { results });
        using var response = await http.SendAsync(request, cancellationToken);
        await ThrowUnlessSuccessAsync(response, $"the reclaim report of reconcile run {runId}", cancellationToken);
        return await response.Content.ReadFromJsonAsync<Reconcile.ReclaimReceipt>(cancellationToken)
            ?? throw new InvalidDataException("the gateway sent an empty receipt");
    }

    /// <summary>The lost stubs this host is to re-tier from its intact copies.</summary>
    public async Task<IReadOnlyList<Reconcile.CopyToRestore>> GetRestoresAsync(Guid runId, CancellationToken cancellationToken)
    {
        using var request = Authorized(HttpMethod.Get, $"/api/v1/agents/reconcile-runs/{runId}/restores");
        using var response = await http.SendAsync(request, cancellationToken);
        await ThrowUnlessSuccessAsync(response, $"the re-tiers of reconcile run {runId}", cancellationToken);
        return await response.Content.ReadFromJsonAsync<Reconcile.CopyToRestore[]>(cancellationToken)
            ?? throw new InvalidDataException("the gateway sent an empty list");
    }

    /// <summary>Says what became of each re-tier.</summary>
    public async Task SendRestoredAsync(Guid runId, IReadOnlyList<Reconcile.RestoredCopy> results, CancellationToken cancellationToken)
    {
        using var request = Authorized(HttpMethod.Post, $"/api/v1/agents/reconcile-runs/{runId}/restored", new { results });
        using var response = await http.SendAsync(request, cancellationToken);
        await ThrowUnlessSuccessAsync(response, $"the re-tier report of reconcile run {runId}", cancellationToken);
    }

    /// <summary>Sends what the census found at the paths it was asked about.</summary>
    public async Task<Reconcile.CensusReceipt> SendCensusAsync(Guid runId, IReadOnlyList<Reconcile.StubFactPart> facts, CancellationToken cancellationToken)
    {
        using var request = Authorized(HttpMethod.Post, $"/api/v1/agents/reconcile-runs/{runId}/stubs", new { facts });
        using var response = await http.SendAsync(request, cancellationToken);
        await ThrowUnlessSuccessAsync(response, $"the census of reconcile run {runId}", cancellationToken);
        return await response.Content.ReadFromJsonAsync<Reconcile.CensusReceipt>(cancellationToken)
            ?? throw new InvalidDataException("the gateway sent an empty receipt");
    }

    /// <summary>Server trouble is worth another try (<see cref="HttpRequestException"/>); a refusal is final (<see cref="InvalidDataException"/>).</summary>
    private static async Task ThrowUnlessSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var reason = $"the gateway answered {(int)response.StatusCode} for {what}: {(body.Length > 500 ? body[..500] : body)}";
        throw (int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests
            ? new HttpRequestException(reason, null, response.StatusCode)
            : new InvalidDataException(reason);
    }

    /// <summary>A request to the gateway carrying the host credential (and a JSON body, if given).</summary>
    private HttpRequestMessage Authorized(HttpMethod method, string path, object? body = null)
    {
        var request = new HttpRequestMessage(method, new Uri(credentials.Gateway, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credentials.Credential);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }
        return request;
    }
}
