using System.Text.Json;
using Alto.Agent.Enrollment;
using Alto.Protocol.Agent.V1;
using Alto.TestSupport;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using Npgsql;

namespace Alto.Agent.Tests;

/// <summary>
/// A hostile host, on a real gRPC stream with its own valid credential, names what belongs to
/// another tenant's host (tier objects, jobs, paths): the whole message is refused, nothing of the
/// victim's changes, and the refusal is audited in the attacker's own chain with its address and
/// counted in /metrics.
/// </summary>
public sealed class HostileAgentTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private const string Sha = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private const int MaxRefusalLength = 1024;
    private readonly GatewayProcess _gateway = running.Gateway;

    [Fact]
    public async Task ResultsAndRecallsNamingAnotherTenantsFilesAreRefusedWholeAndAudited()
    {
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var (victim, victimJob, victimObjects) = await PlannedHostAsync(admin, "victim", "/srv/payroll");
        var (attacker, attackerJob, attackerObjects) = await PlannedHostAsync(admin, "attacker", "/srv/mine");
        var victimBefore = await RowsAsync(victim.HostId);
        var victimChain = await ChainLengthAsync(victim.TenantId);

        using var channel = GrpcChannel.ForAddress(_gateway.GrpcUrl);
        using var call = await OpenSessionAsync(channel, attacker, "hostile");
        // The victim's job and files; the attacker's own job with the victim's files mixed in; the victim's paths as recalls.
        var answers = new List<Ack>
        {
            await SendAsync(call, "victims-job", Stubbed(victimJob, victimObjects)),
            await SendAsync(call, "own-job-victims-files", Stubbed(attackerJob, [attackerObjects[0], .. victimObjects])),
            await SendAsync(call, "victims-paths", new AgentMessage
            {
                RecallReport = new RecallReport { Events = { new RecallEvent { FilePath = "/srv/payroll/f0.bin", Ok = true, DurationMs = 1 } } },
            }),
        };
        await call.RequestStream.CompleteAsync();

        Assert.All(answers, ack =>
        {
            Assert.False(ack.Ok);
            Assert.StartsWith("refused:", ack.Error, StringComparison.Ordinal);
        });
        Assert.Equal(victimBefore, await RowsAsync(victim.HostId));
        // Not even the attacker's own file moved: the message was refused whole.
        Assert.Equal(0, await _gateway.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{attacker.HostId}' AND state <> 'PLANNED'"));
        Assert.Equal(victimChain, await ChainLengthAsync(victim.TenantId));
        Assert.Equal(3, await _gateway.Database.CountAsync($"""
            SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{attacker.TenantId}' AND action = 'agent.report_refused'
              AND actor = 'agent:{attacker.HostId}' AND outcome = 'failure' AND origin LIKE '%127.0.0.1%'
            """));
        var metrics = await _gateway.MetricsAsync();
        Assert.True(MetricLines.Sum(metrics, "alto_agent_reports_refused_total", $"tenant=\"{attacker.TenantId}\"") > 0, metrics);
    }

    [Fact]
    public async Task ARecallOfAnEscapedNameIsJudgedLikeAnyOtherAndAMalformedOneRefused()
    {
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var (agent, _, _) = await PlannedHostAsync(admin, "latin1", "/srv/odd");
        using var channel = GrpcChannel.ForAddress(_gateway.GrpcUrl);
        using var call = await OpenSessionAsync(channel, agent, "hostile");
        static AgentMessage Recall(string path) => new()
        {
            RecallReport = new RecallReport { Events = { new RecallEvent { FilePath = path, PathEscaped = true, Ok = true, DurationMs = 1 } } },
        };

        // A backslash not followed by xHH names no bytes; another host's volume is not this host's, escaped or not.
        var malformed = await SendAsync(call, "malformed", Recall("/srv/odd/caf\\q.pdf"));
        var elsewhere = await SendAsync(call, "elsewhere", Recall("/srv/payroll/caf\\xE9.pdf"));
        await call.RequestStream.CompleteAsync();

        Assert.False(malformed.Ok);
        Assert.Contains("marked escaped but has a backslash not followed by xHH", malformed.Error, StringComparison.Ordinal);
        Assert.False(elsewhere.Ok);
        Assert.Contains("is not below any of this host's volumes", elsewhere.Error, StringComparison.Ordinal);
        Assert.Equal(2, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{agent.TenantId}' AND action = 'agent.report_refused' AND outcome = 'failure'"));
    }

    [Fact]
    public async Task SessionsWithAForgedCredentialOrAnotherHostsHelloAreRefusedAndAudited()
    {
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var (attacker, _, _) = await PlannedHostAsync(admin, "prober", "/srv/probe");
        var (victim, _, _) = await PlannedHostAsync(admin, "probed", "/srv/probed");
        using var channel = GrpcChannel.ForAddress(_gateway.GrpcUrl);
        var client = new AgentService.AgentServiceClient(channel);
        // The victim's host id under a made-up secret.
        var forged = "alto_host_" + victim.HostId.ToString("N") + "_" + new string('x', 43);

        var forgedCall = client.Connect(new Metadata { { "authorization", "Bearer " + forged } });
        var refused = await Assert.ThrowsAsync<RpcException>(() => forgedCall.ResponseStream.MoveNext(CancellationToken.None));
        using var wrongHello = client.Connect(new Metadata { { "authorization", "Bearer " + attacker.Credential } });
        await wrongHello.RequestStream.WriteAsync(new AgentMessage
        {
            Id = "hello", Hello = new Hello { HostId = victim.HostId.ToString(), AgentVersion = "hostile", Os = "linux" },
        });
        var denied = await Assert.ThrowsAsync<RpcException>(() => wrongHello.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal((StatusCode.Unauthenticated, StatusCode.PermissionDenied), (refused.StatusCode, denied.StatusCode));
        Assert.Equal(1, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'agent.session_refused' AND details->>'claimedHostId' = '{victim.HostId}' AND outcome = 'failure' AND origin LIKE '%127.0.0.1%'"));
        Assert.Equal(1, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'agent.session_refused' AND tenant_id = '{attacker.TenantId}' AND host_id = '{attacker.HostId}' AND details->>'reason' LIKE '%another host%'"));
        // The exporter answers from a scrape a moment old: the counter shows on a later one.
        var deadline = DateTime.UtcNow + Patience;
        while (MetricLines.Sum(await _gateway.MetricsAsync(), "alto_access_refused_total", "kind=\"agent.session_refused\"") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "alto_access_refused never showed in /metrics");
            await Task.Delay(500);
        }
    }

    /// <summary>
    /// A host's own reports whose free text holds what PostgreSQL will not store (a NUL, from a
    /// tier-2 server's error body or a hostile agent): each is still taken, the text kept readable,
    /// and the session goes on. A path holding a NUL names no file and is refused. Before, the
    /// database refused the write, the session ended, and the agent sent the same report again forever.
    /// </summary>
    [Fact]
    public async Task ReportsWhoseTextHoldsANulAreTakenAndTheSessionGoesOn()
    {
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var (host, job, objects) = await PlannedHostAsync(admin, "nul-reporter", "/srv/nul");

        using var channel = GrpcChannel.ForAddress(_gateway.GrpcUrl);
        using var call = await OpenSessionAsync(channel, host, "nul\0agent");
        var failed = new JobResult { JobId = job.ToString() };
        failed.Files.Add(new FileResult { TierObjectId = objects[0], Outcome = FileOutcome.Failed, Reason = "upload failed: server said \0\u0001<Error>" });
        var answers = new List<Ack>
        {
            await SendAsync(call, "failed-with-nul", new AgentMessage { JobResult = failed }),
            await SendAsync(call, "recall-error-with-nul", new AgentMessage
            {
                RecallEvent = new RecallEvent { FilePath = "/srv/nul/f1.bin", Ok = false, DurationMs = 3, Error = "tier 2 said \0 no" },
            }),
            await SendAsync(call, "recall-path-with-nul", new AgentMessage
            {
                RecallEvent = new RecallEvent { FilePath = "/srv/nul/f1.bin\0/etc/passwd", Ok = true, DurationMs = 3 },
            }),
            await SendAsync(call, "heartbeat-with-nul", new AgentMessage
            {
                Heartbeat = new Heartbeat
                {
                    RecallProblem = "fanotify \0 refused", Volumes = { new VolumeSpace { Path = "/srv/nul\0", TotalBytes = 10, FreeBytes = 5 } },
                    OperationsUnsettled = 2, UnsettledProblem = "/srv/nul/f1.bin\0 (tier): held",
                },
            }),
        };
        var after = await SendAsync(call, "still-open", new AgentMessage { Heartbeat = new Heartbeat() });
        await call.RequestStream.CompleteAsync();

        Assert.Equal([true, true, false, true, true], answers.Append(after).Select(ack => ack.Ok));
        Assert.Contains("NUL", answers[2].Error, StringComparison.Ordinal);
        Assert.Equal(1, await _gateway.Database.CountAsync($"""
            SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{host.TenantId}' AND action = 'agent.report_refused'
              AND details->>'reportId' = 'recall-path-with-nul' AND details->>'reason' LIKE '%NUL%'
            """));
        Assert.Equal("upload failed: server said \uFFFD\u0001<Error>", await _gateway.Database.ScalarAsync<string>(
            $"SELECT last_error FROM alto.tier_object WHERE id = {objects[0]}"));
        // The heartbeat's unsettled files reach the audit log readable (jsonb holds no NUL), and so does their end.
        Assert.Equal("/srv/nul/f1.bin\uFFFD (tier): held", await _gateway.Database.ScalarAsync<string>(
            $"SELECT details->>'problem' FROM alto.audit_log WHERE host_id = '{host.HostId}' AND action = 'agent.operations_unsettled'"));
        Assert.Equal(1, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE host_id = '{host.HostId}' AND action = 'agent.operations_settled'"));
    }

    /// <summary>
    /// A heartbeat whose figures cannot be (times outside what a protobuf Timestamp may hold, a CPU
    /// share that is not a number, negative counts and sizes): a broken or hostile agent's own host
    /// is all it could touch, but its tenant's admins must still see the hosts page, and the session
    /// must not end on it (the agent would send it again at once, for ever).
    /// </summary>
    [Fact]
    public async Task AHeartbeatWithImpossibleFiguresIsTakenAsNothingWrongAndTheHostsPageStillAnswers()
    {
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var (host, _, _) = await PlannedHostAsync(admin, "wild-clock", "/srv/wild");
        using var channel = GrpcChannel.ForAddress(_gateway.GrpcUrl);
        using var call = await OpenSessionAsync(channel, host, "1.0");
        var beyond = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = 253_402_300_800 + 86_400, Nanos = -1 };
        var wild = await SendAsync(call, "wild-heartbeat", new AgentMessage
        {
            Heartbeat = new Heartbeat
            {
                SentAt = beyond, CpuPercent = double.NaN, QueueDepth = -2, RecallsTotal = -5, RecallsFailed = -1, RecallsRefused = -3,
                Volumes = { new VolumeSpace { Path = "/srv/wild", TotalBytes = -10, FreeBytes = -1, RecallArmed = true } },
                LucidlinkTrail = new LucidLinkTrail { EventsApplied = 3, NewestAppliedEvent = beyond },
            },
        });
        var after = await SendAsync(call, "still-open", new AgentMessage { Heartbeat = new Heartbeat { CpuPercent = double.PositiveInfinity } });
        await call.RequestStream.CompleteAsync();

        Assert.Equal((true, true), (wild.Ok, after.Ok));
        var shown = await admin.GetAsync($"/api/v1/tenants/{host.TenantId}/hosts/{host.HostId}");
        var metrics = shown.GetProperty("latestMetrics");
        Assert.Equal(0, metrics.GetProperty("cpuPercent").GetDouble());
        Assert.Equal((0L, 0L, 0), (metrics.GetProperty("recallsTotal").GetInt64(), metrics.GetProperty("recallsFailed").GetInt64(), metrics.GetProperty("queueDepth").GetInt32()));
        var listed = await admin.GetAsync($"/api/v1/tenants/{host.TenantId}/hosts");
        Assert.Equal(JsonValueKind.Object, listed.ValueKind);
    }

    /// <summary>
    /// Every kind of message an agent may send — read from the protocol's own descriptor, so a kind
    /// or field added later is swept too — with every field filled as a broken or hostile agent could
    /// fill it: long text with "../", NULs and control characters, another tenant's ids and paths,
    /// numbers at their extremes or negative, unknown enum values, times no clock shows, lists of
    /// thousands. Each goes on the host's own valid session: each is answered (taken or refused,
    /// never a broken stream; an agent's own Ack needs no answer), the session goes on taking
    /// heartbeats, and nothing of the other tenant moves.
    /// </summary>
    [Fact]
    public async Task EveryKindOfMessageFilledWithHostileValuesIsAnsweredAndTheSessionGoesOn()
    {
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var (victim, victimJob, victimObjects) = await PlannedHostAsync(admin, "swept", "/srv/payroll");
        var (attacker, _, _) = await PlannedHostAsync(admin, "sweeper", "/srv/mine");
        var victimBefore = await RowsAsync(victim.HostId);
        var victimChain = await ChainLengthAsync(victim.TenantId);
        var fillers = new Dictionary<string, HostileFiller>
        {
            ["long"] = new(new string('a', 8192) + "/../../etc/shadow", long.MaxValue, int.MaxValue, double.MaxValue, 99, 2),
            ["control"] = new("\0\u0001\u001b[31m\uFFFF\uD800", long.MinValue, int.MinValue, double.NaN, -1, 2),
            ["foreign"] = new($"/srv/payroll/f0.bin", victimObjects[0], -1, double.NegativeInfinity, 1, 2)
            {
                Ids = [victim.HostId.ToString(), victimJob.ToString(), victim.TenantId.ToString()],
            },
            ["many"] = new("x", 1, 1, 1, 1, 2_000),
        };

        using var channel = GrpcChannel.ForAddress(_gateway.GrpcUrl);
        using var call = await OpenSessionAsync(channel, attacker, "sweep");
        var unanswered = new List<string>();
        var probesRefused = new List<string>();
        var hellosNotRefused = new List<string>();
        var echoedAtLength = new List<string>();
        foreach (var kind in AgentMessage.Descriptor.Oneofs.Single(oneof => oneof.Name == "body").Fields)
        {
            foreach (var (fillerName, filler) in fillers)
            {
                var body = (IMessage)Activator.CreateInstance(kind.MessageType.ClrType)!;
                filler.Fill(body, depth: 0);
                var message = new AgentMessage();
                kind.Accessor.SetValue(message, body);
                var id = $"{kind.Name}-{fillerName}";
                if (kind.Name == "hello")
                {
                    // A hello opens a session (a second one ends it as a protocol error): each opens one of its own, refused
                    // as a hello naming no host of this credential, with a status that says so.
                    if (await HelloStatusAsync(channel, attacker, message) is not (StatusCode.PermissionDenied or StatusCode.InvalidArgument) and var status)
                    {
                        hellosNotRefused.Add($"{id}: {status}");
                    }
                    continue;
                }
                var (answer, probe) = await SendAndProbeAsync(call, id, message);
                if (answer is null && kind.Name != "ack")
                {
                    unanswered.Add(id);
                }
                if (!probe.Ok)
                {
                    probesRefused.Add($"{id}: {probe.Error}");
                }
                // A refusal says what is wrong; it does not repeat 8 KiB of the agent's text back to it and into the audit log.
                if (answer is { Error.Length: > MaxRefusalLength })
                {
                    echoedAtLength.Add($"{id}: {answer.Error.Length} characters");
                }
            }
        }
        await call.RequestStream.CompleteAsync();

        Assert.Empty(unanswered);
        Assert.Empty(probesRefused);
        Assert.Empty(hellosNotRefused);
        Assert.Empty(echoedAtLength);
        Assert.True(await _gateway.Database.ScalarAsync<int>(
            $"SELECT coalesce(max(length(details::text)), 0) FROM alto.audit_log WHERE tenant_id = '{attacker.TenantId}' AND action = 'agent.report_refused'") is > 0 and <= 2 * MaxRefusalLength,
            "an audit entry of a refused report repeats the agent's text at length");
        Assert.Equal(victimBefore, await RowsAsync(victim.HostId));
        Assert.Equal(victimChain, await ChainLengthAsync(victim.TenantId));
        var shown = await admin.GetAsync($"/api/v1/tenants/{attacker.TenantId}/hosts/{attacker.HostId}");
        Assert.Equal(attacker.HostId, shown.GetProperty("id").GetGuid());
    }

    /// <summary>
    /// Fills a protocol message's every field, nested messages and lists included (<see cref="Count"/>
    /// entries each), with one kind of bad value; text fields named for an id take <see cref="Ids"/> in turn.
    /// </summary>
    private sealed record HostileFiller(string Text, long Long, int Int, double Double, int EnumValue, int Count)
    {
        public string[] Ids { get; init; } = [];

        private int _next;

        public void Fill(IMessage message, int depth)
        {
            foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
            {
                if (field.IsRepeated)
                {
                    var list = (System.Collections.IList)field.Accessor.GetValue(message);
                    // A nested list of thousands inside a list of thousands would pass the size limit: only the outer one is long.
                    for (var i = 0; i < (depth == 0 ? Count : 2); i++)
                    {
                        list.Add(ValueFor(field, depth));
                    }
                }
                else if (field.RealContainingOneof is null || field.RealContainingOneof.Accessor.GetCaseFieldDescriptor(message) is null)
                {
                    field.Accessor.SetValue(message, ValueFor(field, depth));
                }
            }
        }

        private object ValueFor(FieldDescriptor field, int depth) => field.FieldType switch
        {
            FieldType.String => field.Name.EndsWith("_id", StringComparison.Ordinal) && Ids.Length > 0 ? Ids[_next++ % Ids.Length] : Text,
            FieldType.Bytes => ByteString.CopyFromUtf8(Text),
            FieldType.Bool => true,
            FieldType.Double => Double,
            FieldType.Float => (float)Double,
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => Long,
            FieldType.UInt64 or FieldType.Fixed64 => unchecked((ulong)Long),
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => Int,
            FieldType.UInt32 or FieldType.Fixed32 => unchecked((uint)Int),
            FieldType.Enum => Enum.ToObject(field.EnumType.ClrType, EnumValue),
            FieldType.Message => Nested(field, depth),
            _ => throw new InvalidOperationException($"no hostile value for {field.FullName} ({field.FieldType})"),
        };

        private IMessage Nested(FieldDescriptor field, int depth)
        {
            var nested = (IMessage)Activator.CreateInstance(field.MessageType.ClrType)!;
            if (depth < 3)
            {
                Fill(nested, depth + 1);
            }
            return nested;
        }
    }

    /// <summary>How the gateway ends a session the host's credential opens with <paramref name="hello"/> (null: it did not end it).</summary>
    private static async Task<StatusCode?> HelloStatusAsync(GrpcChannel channel, AgentCredentials host, AgentMessage hello)
    {
        using var call = new AgentService.AgentServiceClient(channel).Connect(new Metadata { { "authorization", "Bearer " + host.Credential } });
        hello.Id = "hostile-hello";
        await call.RequestStream.WriteAsync(hello);
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            while (await call.ResponseStream.MoveNext(timeout.Token))
            {
                if (call.ResponseStream.Current.BodyCase == GatewayMessage.BodyOneofCase.Welcome)
                {
                    return null;
                }
            }
            return StatusCode.OK;
        }
        catch (RpcException refused)
        {
            return refused.StatusCode;
        }
    }

    /// <summary>Sends one message, then a heartbeat; the message's answer (null when none came before the heartbeat's) and the heartbeat's.</summary>
    private static async Task<(Ack? Answer, Ack Probe)> SendAndProbeAsync(AsyncDuplexStreamingCall<AgentMessage, GatewayMessage> call, string id, AgentMessage message)
    {
        message.Id = id;
        await call.RequestStream.WriteAsync(message);
        var probeId = id + "-probe";
        await call.RequestStream.WriteAsync(new AgentMessage { Id = probeId, Heartbeat = new Heartbeat() });
        Ack? answer = null;
        using var timeout = new CancellationTokenSource(Patience);
        while (await call.ResponseStream.MoveNext(timeout.Token))
        {
            if (call.ResponseStream.Current.BodyCase != GatewayMessage.BodyOneofCase.Ack)
            {
                continue;
            }
            var ack = call.ResponseStream.Current.Ack;
            if (ack.MessageId == id)
            {
                answer = ack;
            }
            else if (ack.MessageId == probeId)
            {
                return (answer, ack);
            }
        }
        throw new InvalidOperationException($"the stream ended after {id}");
    }

    private static AgentMessage Stubbed(Guid jobId, IEnumerable<long> tierObjects)
    {
        var result = new JobResult { JobId = jobId.ToString(), JobFinished = true };
        result.Files.AddRange(tierObjects.Select(id => new FileResult { TierObjectId = id, Outcome = FileOutcome.Stubbed, Sha256 = Sha, Locator = "attacker/" + Sha }));
        return new AgentMessage { JobResult = result };
    }

    /// <summary>A session of the host's own, opened with its hello (as <paramref name="version"/> of the agent).</summary>
    private static async Task<AsyncDuplexStreamingCall<AgentMessage, GatewayMessage>> OpenSessionAsync(GrpcChannel channel, AgentCredentials host, string version)
    {
        var call = new AgentService.AgentServiceClient(channel).Connect(new Metadata { { "authorization", "Bearer " + host.Credential } });
        await call.RequestStream.WriteAsync(new AgentMessage
        {
            Id = Guid.NewGuid().ToString("N"),
            Hello = new Hello { HostId = host.HostId.ToString(), AgentVersion = version, Os = "linux" },
        });
        return call;
    }

    /// <summary>Sends one message and reads until the gateway acknowledges it.</summary>
    private static async Task<Ack> SendAsync(AsyncDuplexStreamingCall<AgentMessage, GatewayMessage> call, string id, AgentMessage message)
    {
        message.Id = id;
        await call.RequestStream.WriteAsync(message);
        using var timeout = new CancellationTokenSource(Patience);
        while (await call.ResponseStream.MoveNext(timeout.Token))
        {
            if (call.ResponseStream.Current.BodyCase == GatewayMessage.BodyOneofCase.Ack && call.ResponseStream.Current.Ack.MessageId == id)
            {
                return call.ResponseStream.Current.Ack;
            }
        }
        throw new InvalidOperationException($"the stream ended before {id} was acknowledged");
    }

    /// <summary>A tenant whose one host (enrolled) has three planned files under <paramref name="volume"/> in one job.</summary>
    private async Task<(AgentCredentials Agent, Guid JobId, long[] TierObjects)> PlannedHostAsync(AdminApi admin, string name, string volume)
    {
        var tenant = await admin.CreateTenantAsync($"{name}-{Guid.NewGuid():N}"[..24], tierAtOnce: true);
        var target = (await admin.PostAsync($"/api/v1/tenants/{tenant}/targets", new { name = "nas", kind = "path", settings = new { path = $"/mnt/tier2/{tenant:N}" } }))
            .GetProperty("id").GetGuid();
        await admin.PostAsync($"/api/v1/tenants/{tenant}/rules", new { name = "all", targetId = target, criteria = new { minSizeBytes = 0 } });
        var (hostId, token) = await admin.RegisterHostAsync(tenant, $"fs-{name}", volume);
        using var http = new HttpClient();
        var agent = await new EnrollmentClient(http).EnrollAsync(_gateway.HttpUrl, _gateway.GrpcUrl, token, CancellationToken.None);
        await using (var insert = _gateway.Database.DataSource.CreateCommand("""
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            SELECT $1, $2, 0, 'f' || i || '.bin', $3 || '/f' || i || '.bin', 1000, 0, 0, 0, 'bin', 0, 0, now() FROM generate_series(0, 2) i
            """))
        {
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenant });
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = volume });
            await insert.ExecuteNonQueryAsync();
        }
        // No agent of either host reports recall armed, so the jobs stay at home, to be named.
        await admin.PostAsync($"/api/v1/tenants/{tenant}/hosts/{hostId}/plan?dryRun=false", new { });
        var job = Guid.Parse(await _gateway.Database.ScalarAsync<string>($"SELECT id::text FROM alto.tiering_job WHERE host_id = '{hostId}'"));
        var objects = new List<long>();
        await using (var select = _gateway.Database.DataSource.CreateCommand($"SELECT id FROM alto.tier_object WHERE host_id = '{hostId}' ORDER BY id"))
        await using (var reader = await select.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                objects.Add(reader.GetInt64(0));
            }
        }
        return (agent, job, [.. objects]);
    }

    private async Task<string> RowsAsync(Guid hostId) =>
        JsonSerializer.Serialize(await _gateway.Database.ScalarAsync<string>(
            $"SELECT string_agg(id || state || coalesce(locator, '') || attempts || coalesce(last_error, ''), ',' ORDER BY id) FROM alto.tier_object WHERE host_id = '{hostId}'"));

    private Task<long> ChainLengthAsync(Guid tenantId) =>
        _gateway.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{tenantId}'");
}
