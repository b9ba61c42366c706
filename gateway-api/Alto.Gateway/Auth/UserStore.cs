using Alto.Audit;
using Npgsql;

namespace Alto.Gateway.Auth;

public sealed record AppUser(
    Guid Id,
    string Username,
    string Role,
    bool Disabled,
    IReadOnlyList<Guid> TenantIds,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastLoginAt)
{
    /// <summary>Tokens carry it; raising it (sign out everywhere) invalidates every token issued before.</summary>
    public int SessionVersion { get; init; }
}

public sealed record StoredUser(AppUser User, string PasswordHash);

public enum CreateUserOutcome
{
    Created = 0,
    UsernameTaken = 1,
    UnknownTenant = 2,
}

/// <summary>
/// Local users in alto.app_user and their tenants. Users are not grains: sign-in reads SQL directly.
/// Lockouts run on the gateway's clock (<see cref="TimeProvider"/>), the one its tokens are issued by.
/// </summary>
public sealed class UserStore(NpgsqlDataSource db, TimeProvider time)
{
    private const string SelectUsers = """
        SELECT u.id, u.username, u.role, u.disabled, u.created_at, u.last_login_at, u.password_hash,
               coalesce(array_agg(t.tenant_id ORDER BY t.tenant_id) FILTER (WHERE t.tenant_id IS NOT NULL), '{}') AS tenants,
               u.session_version
        FROM alto.app_user u
        LEFT JOIN alto.app_user_tenant t ON t.user_id = u.id
        """;

    public async Task<StoredUser?> FindByUsernameAsync(string username, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"{SelectUsers} WHERE lower(u.username) = lower($1) GROUP BY u.id");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = username });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadStored(reader) : null;
    }

    public async Task<StoredUser?> FindByIdAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await FindByIdAsync(connection, null, id, cancellationToken);
    }

    private static async Task<StoredUser?> FindByIdAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid id, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"{SelectUsers} WHERE u.id = $1 GROUP BY u.id", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadStored(reader) : null;
    }

    /// <summary>
    /// Runs one change's statements and appends its audit entry, made from what they returned, in
    /// one transaction: the change is stored with its entry or not at all.
    /// </summary>
    private async Task<T> AuditedAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> change, Func<T, AuditEntry> entryOf, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var result = await change(connection, transaction);
        await AuditLog.AppendAsync(connection, transaction, entryOf(result), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    private static async Task<T> ExecuteAsync<T>(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, Guid id, CancellationToken cancellationToken,
        params NpgsqlParameter[] more)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        command.Parameters.AddRange(more);
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Users of a page; with <paramref name="tenantScope"/> only those sharing one of those tenants.</summary>
    public async Task<(IReadOnlyList<AppUser> Users, long Total)> ListAsync(
        IReadOnlyCollection<Guid>? tenantScope, int offset, int limit, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"""
            WITH visible AS (
                SELECT u.id FROM alto.app_user u
                WHERE $1::uuid[] IS NULL
                   OR EXISTS (SELECT 1 FROM alto.app_user_tenant t WHERE t.user_id = u.id AND t.tenant_id = ANY($1)))
            {SelectUsers}
            WHERE u.id IN (SELECT id FROM visible)
            GROUP BY u.id
            ORDER BY lower(u.username), u.id
            OFFSET $2 LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)tenantScope?.ToArray() ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = offset });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var users = new List<AppUser>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                users.Add(ReadStored(reader).User);
            }
        }

        await using var count = db.CreateCommand("""
            SELECT count(*) FROM alto.app_user u
            WHERE $1::uuid[] IS NULL
               OR EXISTS (SELECT 1 FROM alto.app_user_tenant t WHERE t.user_id = u.id AND t.tenant_id = ANY($1))
            """);
        count.Parameters.Add(new NpgsqlParameter { Value = (object?)tenantScope?.ToArray() ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Uuid });
        var total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        return (users, total);
    }

    /// <summary>Creates the user and its tenant links, with the audit entry of the creation when given, in one transaction: all of it or none.</summary>
    public async Task<(CreateUserOutcome Outcome, AppUser? User)> CreateAsync(Guid id, string username, string passwordHash, string role,
        IReadOnlyCollection<Guid> tenantIds, Func<AppUser, AuditEntry> entryOf, CancellationToken cancellationToken)
    {
        try
        {
            var created = await AuditedAsync(async (connection, transaction) =>
            {
                await using (var insert = new NpgsqlCommand(
                    "INSERT INTO alto.app_user (id, username, password_hash, role) VALUES ($1, $2, $3, $4)", connection, transaction))
                {
                    insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
                    insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = username });
                    insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = passwordHash });
                    insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = role });
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }
                if (tenantIds.Count > 0)
                {
                    await using var link = new NpgsqlCommand(
                        "INSERT INTO alto.app_user_tenant (user_id, tenant_id) SELECT $1, unnest($2::uuid[])", connection, transaction);
                    link.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
                    link.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = tenantIds.ToArray() });
                    await link.ExecuteNonQueryAsync(cancellationToken);
                }
                return (await FindByIdAsync(connection, transaction, id, cancellationToken))!.User;
            }, entryOf, cancellationToken);
            return (CreateUserOutcome.Created, created);
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return (CreateUserOutcome.UsernameTaken, null);
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            return (CreateUserOutcome.UnknownTenant, null);
        }
    }

    /// <summary>A user's own change of password: the new hash, every session ended, and the audit entry, in one transaction. Returns the new session version.</summary>
    public Task<int> ChangePasswordAsync(Guid id, string passwordHash, AuditEntry entry, CancellationToken cancellationToken) =>
        AuditedAsync((connection, transaction) => SetPasswordAndEndSessionsAsync(connection, transaction, id, passwordHash, cancellationToken), _ => entry, cancellationToken);

    private static Task<int> SetPasswordAndEndSessionsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, string passwordHash,
        CancellationToken cancellationToken) =>
        ExecuteAsync<int>(connection, transaction,
            "UPDATE alto.app_user SET password_hash = $2, session_version = session_version + 1, updated_at = now() WHERE id = $1 RETURNING session_version",
            id, cancellationToken, new NpgsqlParameter<string> { TypedValue = passwordHash });

    public async Task SetPasswordHashAsync(Guid id, string passwordHash, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("UPDATE alto.app_user SET password_hash = $2, updated_at = now() WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = passwordHash });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Counts a failed sign-in of the account from <paramref name="address"/>; the
    /// <paramref name="threshold"/>th in a row locks the account for that address, for
    /// <paramref name="lockout"/> doubled for each lockout before it (at most a day). Returns until
    /// when it is locked, if it is now.
    /// </summary>
    public async Task<DateTimeOffset?> RecordFailedSignInAsync(Guid id, string address, int threshold, TimeSpan lockout, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            INSERT INTO alto.sign_in_failure AS f (user_id, address, failures) VALUES ($1, $2, 1)
            ON CONFLICT (user_id, address) DO UPDATE SET failures = f.failures + 1, updated_at = now()
            RETURNING failures, lockouts
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = address });
        int failures, lockouts;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            (failures, lockouts) = (reader.GetInt32(0), reader.GetInt32(1));
        }
        if (failures < threshold)
        {
            return null;
        }
        var duration = TimeSpan.FromTicks(Math.Min(lockout.Ticks * (1L << Math.Min(lockouts, 20)), TimeSpan.FromDays(1).Ticks));
        await using var lockIt = db.CreateCommand("""
            UPDATE alto.sign_in_failure SET failures = 0, lockouts = lockouts + 1, locked_until = $3, updated_at = now()
            WHERE user_id = $1 AND address = $2
            RETURNING locked_until
            """);
        lockIt.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        lockIt.Parameters.Add(new NpgsqlParameter<string> { TypedValue = address });
        lockIt.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() + duration });
        return await lockIt.ExecuteScalarAsync(cancellationToken) is DateTime until ? new DateTimeOffset(until, TimeSpan.Zero) : null;
    }

    /// <summary>Until when the account is locked for <paramref name="address"/>, or null when it is not (a lockout that ran out no longer counts).</summary>
    public async Task<DateTimeOffset?> LockedUntilAsync(Guid id, string address, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT locked_until FROM alto.sign_in_failure WHERE user_id = $1 AND address = $2 AND locked_until > $3");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = address });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });
        return await command.ExecuteScalarAsync(cancellationToken) is DateTime until ? new DateTimeOffset(until, TimeSpan.Zero) : null;
    }

    /// <summary>Clears every failed sign-in and lockout of the account, from every address, with the audit entry of the unlock (made from how many addresses were locked) in one transaction.</summary>
    public Task<int> UnlockAsync(Guid id, Func<int, AuditEntry> entryOf, CancellationToken cancellationToken) =>
        AuditedAsync((connection, transaction) => UnlockAsync(connection, transaction, id, cancellationToken), entryOf, cancellationToken);

    private async Task<int> UnlockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, CancellationToken cancellationToken) =>
        (int)await ExecuteAsync<long>(connection, transaction,
            "WITH gone AS (DELETE FROM alto.sign_in_failure WHERE user_id = $1 RETURNING locked_until) SELECT count(*) FROM gone WHERE locked_until > $2",
            id, cancellationToken, new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });

    /// <summary>
    /// The tenants a token of this user issued under <paramref name="sessionVersion"/> reaches now —
    /// those still the user's and not disabled — or null when the token no longer holds (the user
    /// is gone, disabled, or was signed out since).
    /// </summary>
    public async Task<Guid[]?> SessionTenantsAsync(Guid id, int sessionVersion, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT coalesce(array_agg(t.id) FILTER (WHERE t.status = 'active'), '{}')
            FROM alto.app_user u
            LEFT JOIN alto.app_user_tenant ut ON ut.user_id = u.id
            LEFT JOIN alto.tenant t ON t.id = ut.tenant_id
            WHERE u.id = $1 AND NOT u.disabled AND u.session_version = $2
            GROUP BY u.id
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = sessionVersion });
        return await command.ExecuteScalarAsync(cancellationToken) as Guid[];
    }

    private static Task<int> SetDisabledAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, bool disabled, CancellationToken cancellationToken) =>
        ExecuteAsync<int>(connection, transaction, """
            UPDATE alto.app_user SET disabled = $2, session_version = session_version + (CASE WHEN $2 THEN 1 ELSE 0 END), updated_at = now()
            WHERE id = $1
            RETURNING session_version
            """, id, cancellationToken, new NpgsqlParameter<bool> { TypedValue = disabled });

    /// <summary>
    /// Changes an account's role, tenants and disabled flag (each null: left as it is, so that two
    /// admins changing different things of one account both stand), with the audit entry of the
    /// change (made from the user as it is after) in one transaction. Disabling and a new role end
    /// every session (a token carries its role, while its tenants are read again on every call).
    /// Null when a tenant does not exist.
    /// </summary>
    public async Task<AppUser?> UpdateAsync(Guid id, string? role, IReadOnlyCollection<Guid>? tenantIds, bool? disabled,
        Func<AppUser, AuditEntry> entryOf, CancellationToken cancellationToken)
    {
        try
        {
            return await AuditedAsync(async (connection, transaction) =>
            {
                await ExecuteAsync<int>(connection, transaction, """
                    UPDATE alto.app_user
                    SET role = coalesce($2, role), disabled = coalesce($3, disabled), updated_at = now(),
                        session_version = session_version + (CASE WHEN $3 IS TRUE OR $2 <> role THEN 1 ELSE 0 END)
                    WHERE id = $1
                    RETURNING session_version
                    """, id, cancellationToken,
                    new NpgsqlParameter { Value = (object?)role ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
                    new NpgsqlParameter { Value = (object?)disabled ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Boolean });
                if (tenantIds is not null)
                {
                    await using var relink = new NpgsqlBatch(connection, transaction);
                    relink.BatchCommands.Add(TenantLinks("DELETE FROM alto.app_user_tenant WHERE user_id = $1 AND tenant_id <> ALL($2)", id, tenantIds));
                    relink.BatchCommands.Add(TenantLinks(
                        "INSERT INTO alto.app_user_tenant (user_id, tenant_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING", id, tenantIds));
                    await relink.ExecuteNonQueryAsync(cancellationToken);
                }
                return (await FindByIdAsync(connection, transaction, id, cancellationToken))!.User;
            }, entryOf, cancellationToken);
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            return null;
        }
    }

    private static NpgsqlBatchCommand TenantLinks(string sql, Guid userId, IReadOnlyCollection<Guid> tenantIds) =>
        new(sql) { Parameters = { new NpgsqlParameter<Guid> { TypedValue = userId }, new NpgsqlParameter<Guid[]> { TypedValue = [.. tenantIds] } } };

    /// <summary>
    /// An admin's reset of another user's password, with its audit entry, in one transaction: the
    /// new hash, every session ended, and the account unlocked from every address (the guesses that
    /// locked it were at a password that no longer holds).
    /// </summary>
    public Task<int> ResetPasswordAsync(Guid id, string passwordHash, AuditEntry entry, CancellationToken cancellationToken) =>
        AuditedAsync(async (connection, transaction) =>
        {
            await UnlockAsync(connection, transaction, id, cancellationToken);
            return await SetPasswordAndEndSessionsAsync(connection, transaction, id, passwordHash, cancellationToken);
        }, _ => entry, cancellationToken);

    /// <summary>
    /// The break-glass recovery of an account, with its audit entry, in one transaction: unlocked
    /// from every address, enabled, and given <paramref name="passwordHash"/> when one is (every
    /// session ending). Returns how many addresses were locked.
    /// </summary>
    public Task<int> RecoverAsync(Guid id, string? passwordHash, Func<int, AuditEntry> entryOf, CancellationToken cancellationToken) =>
        AuditedAsync(async (connection, transaction) =>
        {
            var unlocked = await UnlockAsync(connection, transaction, id, cancellationToken);
            await SetDisabledAsync(connection, transaction, id, disabled: false, cancellationToken);
            if (passwordHash is not null)
            {
                await SetPasswordAndEndSessionsAsync(connection, transaction, id, passwordHash, cancellationToken);
            }
            return unlocked;
        }, entryOf, cancellationToken);

    /// <summary>Signs the user out everywhere (every token issued so far stops working), with the audit entry of the revocation in one transaction. Returns the new session version.</summary>
    public Task<int> RevokeSessionsAsync(Guid id, AuditEntry entry, CancellationToken cancellationToken) =>
        AuditedAsync((connection, transaction) => RevokeSessionsAsync(connection, transaction, id, cancellationToken), _ => entry, cancellationToken);

    private static Task<int> RevokeSessionsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, CancellationToken cancellationToken) =>
        ExecuteAsync<int>(connection, transaction,
            "UPDATE alto.app_user SET session_version = session_version + 1, updated_at = now() WHERE id = $1 RETURNING session_version", id, cancellationToken);

    /// <summary>A sign-in that worked: it is recorded, and the failures from its address are forgotten (other addresses' stay).</summary>
    public async Task RecordLoginAsync(Guid id, string address, CancellationToken cancellationToken)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("UPDATE alto.app_user SET last_login_at = now() WHERE id = $1") { Parameters = { new NpgsqlParameter<Guid> { TypedValue = id } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM alto.sign_in_failure WHERE user_id = $1 AND address = $2 AND (locked_until IS NULL OR locked_until <= $3)")
        {
            Parameters =
            {
                new NpgsqlParameter<Guid> { TypedValue = id }, new NpgsqlParameter<string> { TypedValue = address },
                new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() },
            },
        });
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> AnyPlatformAdminAsync(CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(
            "SELECT EXISTS (SELECT 1 FROM alto.app_user WHERE role = 'platform-admin' AND NOT disabled)");
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static StoredUser ReadStored(NpgsqlDataReader reader) => new(
        new AppUser(
            reader.GetGuid(0),
            reader.GetString(1),
            reader.GetString(2),
            reader.GetBoolean(3),
            reader.GetFieldValue<Guid[]>(7),
            reader.GetFieldValue<DateTimeOffset>(4),
            reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5)) { SessionVersion = reader.GetInt32(8) },
        reader.GetString(6));
}
