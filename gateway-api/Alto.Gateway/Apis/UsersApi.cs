using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.Validation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Alto.Gateway.Apis;

public sealed record CreateUserRequest(string? Username, string? Password, string? Role, Guid[]? TenantIds);

/// <summary>What a PATCH changes; a field left out stays as it is.</summary>
public sealed record UpdateUserRequest(bool? Disabled, string? Role, Guid[]? TenantIds);

/// <summary>The password an admin sets for another user.</summary>
public sealed record ResetPasswordRequest(string? Password);

/// <summary>How many addresses the account was locked for when it was unlocked.</summary>
public sealed record UnlockResult(int LockedAddresses);

/// <summary>
/// Local users. A platform admin manages everyone; a tenant admin manages users of its own
/// tenants and cannot hand out more than it has.
/// </summary>
public static class UsersApi
{
    public static RouteGroupBuilder MapUsersApi(this RouteGroupBuilder api)
    {
        var users = api.MapGroup("/users").WithTags("Users");
        users.MapGet("/", ListUsersAsync).Allows(Access.UserAdmin).WithSummary("List users (platform admin: all; tenant admin: its tenants')");
        users.MapPost("/", CreateUserAsync).Allows(Access.UserAdmin).WithSummary("Create a user with a role and tenants");
        users.MapGet("/{userId:guid}", GetUserAsync).Allows(Access.UserAdmin).WithSummary("A user (platform admin: any; tenant admin: one sharing a tenant with it)");
        users.MapPatch("/{userId:guid}", UpdateUserAsync).Allows(Access.UserAdmin)
            .WithSummary("Change a user's role or tenants, or disable or enable the user (disabling and a new role sign the user out everywhere)");
        users.MapPost("/{userId:guid}/password", ResetPasswordAsync).Allows(Access.UserAdmin)
            .WithSummary("Set another user's password: the user is signed out everywhere and unlocked");
        users.MapPost("/{userId:guid}/unlock", UnlockAsync).Allows(Access.UserAdmin)
            .WithSummary("Clear the user's failed sign-ins and lockouts, from every address");
        users.MapPost("/{userId:guid}/revoke-sessions", RevokeSessionsAsync).Allows(Access.UserAdmin)
            .WithSummary("Sign a user out everywhere: every token issued so far stops working");
        return api;
    }

    public static async Task<Results<Ok<Page<UserView>>, ValidationProblem, ProblemHttpResult>> ListUsersAsync(
        [AsParameters] GatewayServices services, UserStore users, int? page, int? pageSize)
    {
        var caller = services.Caller;
        if (!caller.IsPlatformAdmin && caller.Role != Roles.TenantAdmin)
        {
            return ApiProblems.Forbidden($"role '{caller.Role}' cannot list users");
        }
        var errors = new RequestErrors();
        var request = Paging.Read(errors, page, pageSize);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var (list, total) = await users.ListAsync(caller.IsPlatformAdmin ? null : caller.Tenants, request.Offset, request.Size, services.Cancellation);
        return TypedResults.Ok(new Page<UserView>([.. list.Select(user => UserView.From(user) with { Manageable = Manages(caller, user) })], request.Number, request.Size, total));
    }

    /// <summary>A user, seen as the list shows it: by a platform admin, or by a tenant admin it shares a tenant with (where its creation's Location points).</summary>
    public static async Task<Results<Ok<UserView>, ProblemHttpResult>> GetUserAsync([AsParameters] GatewayServices services, UserStore users, Guid userId)
    {
        var caller = services.Caller;
        if (!caller.IsPlatformAdmin && caller.Role != Roles.TenantAdmin)
        {
            return ApiProblems.Forbidden($"role '{caller.Role}' cannot read users");
        }
        var user = (await users.FindByIdAsync(userId, services.Cancellation))?.User;
        return user is not null && (caller.IsPlatformAdmin || user.TenantIds.Any(caller.CanSee))
            ? TypedResults.Ok(UserView.From(user) with { Manageable = Manages(caller, user) })
            : ApiProblems.NotFound($"user {userId} not found");
    }

    public static async Task<Results<Created<UserView>, ValidationProblem, ProblemHttpResult>> CreateUserAsync(
        [AsParameters] GatewayServices services, CreateUserRequest request, UserStore users, PasswordHashing passwords,
        HttpContext http)
    {
        var caller = services.Caller;
        if (!caller.IsPlatformAdmin && caller.Role != Roles.TenantAdmin)
        {
            return ApiProblems.Forbidden($"role '{caller.Role}' cannot create users");
        }

        var errors = new RequestErrors();
        var username = UserRules.Username(errors, request.Username);
        UserRules.NewPassword(errors, "password", request.Password, request.Username);
        var role = request.Role;
        var tenants = (request.TenantIds ?? []).Distinct().ToArray();
        if (CheckGrant(errors, caller, role, tenants) is { } refused)
        {
            return refused;
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }

        var id = Guid.NewGuid();
        var (outcome, user) = await users.CreateAsync(id, username!, passwords.Hash(request.Password!), role!, tenants,
            created => GatewayAudit.Entry(http, GatewayAudit.ActorOf(services.User), "user.created", "user", id.ToString(), succeeded: true,
                new Dictionary<string, object?> { ["before"] = null, ["after"] = UserView.From(created) }),
            services.Cancellation);
        switch (outcome)
        {
            case CreateUserOutcome.UsernameTaken:
                return ApiProblems.Conflict($"user name '{username}' is taken");
            case CreateUserOutcome.UnknownTenant:
                return ApiProblems.Invalid("tenantIds", "a tenant in tenantIds does not exist");
        }
        return TypedResults.Created($"/api/v1/users/{id}", UserView.From(user!));
    }

    /// <summary>
    /// Checks the role and tenants a user is given (<paramref name="role"/> null is refused): a known
    /// role, tenants for every role but platform admin and none for it, and only tenants the caller
    /// sees. The caller hands out no more than it has: a refusal when it is not a platform admin and
    /// the role is.
    /// </summary>
    private static ProblemHttpResult? CheckGrant(RequestErrors errors, Caller caller, string? role, Guid[] tenants)
    {
        if (role is null || !Roles.IsKnown(role))
        {
            errors.Add("role", $"role must be one of {string.Join(", ", Roles.All)}");
        }
        else if (role == Roles.PlatformAdmin && !caller.IsPlatformAdmin)
        {
            return ApiProblems.Forbidden("only a platform admin makes platform admins");
        }
        if (role == Roles.PlatformAdmin && tenants.Length > 0)
        {
            errors.Add("tenantIds", "a platform admin sees every tenant; give no tenantIds");
        }
        if (role is not null && role != Roles.PlatformAdmin && tenants.Length == 0)
        {
            errors.Add("tenantIds", "give at least one tenant for this role");
        }
        // Out of the caller's scope reads the same as not existing.
        foreach (var tenant in tenants.Where(tenant => !caller.CanSee(tenant)))
        {
            errors.Add("tenantIds", $"tenant {tenant} not found");
        }
        return null;
    }

    public static async Task<Results<Ok<UserView>, ValidationProblem, ProblemHttpResult>> UpdateUserAsync(
        [AsParameters] GatewayServices services, Guid userId, UpdateUserRequest request, UserStore users,
        HttpContext http)
    {
        if (await ManagedUserAsync(services, users, userId) is not { } target)
        {
            return Refusal(services.Caller, userId);
        }
        var grants = request.Role is not null || request.TenantIds is not null;
        if (request.Disabled is null && !grants)
        {
            return ApiProblems.Invalid("disabled", "give disabled (true or false), role or tenantIds");
        }
        var itself = userId == services.Caller.UserId;
        if (itself && request.Disabled == true)
        {
            return ApiProblems.Invalid("disabled", "you cannot disable your own account");
        }
        if (itself && grants)
        {
            return ApiProblems.Invalid("role", "you cannot change your own role or tenants; another admin can");
        }

        var errors = new RequestErrors();
        var role = request.Role ?? target.Role;
        // A platform admin has no tenants: one made so loses its list, one made something else needs one.
        var tenants = request.TenantIds?.Distinct().ToArray() ?? (role == Roles.PlatformAdmin ? [] : [.. target.TenantIds]);
        if (grants && CheckGrant(errors, services.Caller, role, tenants) is { } refused)
        {
            return refused;
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }

        var action = grants ? "user.updated" : request.Disabled == true ? "user.disabled" : "user.enabled";
        // Only what the request names is written: another admin's change of the rest meanwhile stands.
        var newTenants = request.TenantIds is not null || request.Role == Roles.PlatformAdmin ? tenants : null;
        var after = await users.UpdateAsync(userId, request.Role, newTenants, request.Disabled,
            changed => GatewayAudit.Entry(http, GatewayAudit.ActorOf(services.User), action, "user", userId.ToString(), succeeded: true,
                new Dictionary<string, object?> { ["before"] = UserView.From(target), ["after"] = UserView.From(changed) }),
            services.Cancellation);
        if (after is null)
        {
            return ApiProblems.Invalid("tenantIds", "a tenant in tenantIds does not exist");
        }
        return TypedResults.Ok(UserView.From(after));
    }

    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> ResetPasswordAsync(
        [AsParameters] GatewayServices services, Guid userId, ResetPasswordRequest request, UserStore users, PasswordHashing passwords,
        HttpContext http)
    {
        if (await ManagedUserAsync(services, users, userId) is not { } target)
        {
            return Refusal(services.Caller, userId);
        }
        if (userId == services.Caller.UserId)
        {
            return ApiProblems.Invalid("password", "change your own password with POST /api/v1/auth/password, which asks for the current one");
        }
        var errors = new RequestErrors();
        UserRules.NewPassword(errors, "password", request.Password, target.Username);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        await users.ResetPasswordAsync(userId, passwords.Hash(request.Password!),
            GatewayAudit.Entry(http, GatewayAudit.ActorOf(services.User), "user.password_reset", "user", userId.ToString(), succeeded: true,
                new Dictionary<string, object?>()),
            services.Cancellation);
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<UnlockResult>, ProblemHttpResult>> UnlockAsync(
        [AsParameters] GatewayServices services, Guid userId, UserStore users, HttpContext http)
    {
        if (await ManagedUserAsync(services, users, userId) is null)
        {
            return Refusal(services.Caller, userId);
        }
        var locked = await users.UnlockAsync(userId,
            locked => GatewayAudit.Entry(http, GatewayAudit.ActorOf(services.User), "user.unlocked", "user", userId.ToString(), succeeded: true,
                new Dictionary<string, object?> { ["lockedAddresses"] = locked }),
            services.Cancellation);
        return TypedResults.Ok(new UnlockResult(locked));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeSessionsAsync(
        [AsParameters] GatewayServices services, Guid userId, UserStore users, HttpContext http)
    {
        if (await ManagedUserAsync(services, users, userId) is null)
        {
            return Refusal(services.Caller, userId);
        }
        await users.RevokeSessionsAsync(userId, GatewayAudit.Entry(http, GatewayAudit.ActorOf(services.User), "user.sessions_revoked", "user", userId.ToString(),
            succeeded: true, new Dictionary<string, object?>()), services.Cancellation);
        return TypedResults.NoContent();
    }

    /// <summary>The user, when the caller may manage it (<see cref="Manages"/>).</summary>
    private static async Task<AppUser?> ManagedUserAsync(GatewayServices services, UserStore users, Guid userId)
    {
        var caller = services.Caller;
        if (!caller.IsPlatformAdmin && caller.Role != Roles.TenantAdmin)
        {
            return null;
        }
        var user = (await users.FindByIdAsync(userId, services.Cancellation))?.User;
        return user is not null && Manages(caller, user) ? user : null;
    }

    /// <summary>Platform admins manage everyone; tenant admins the users all of whose tenants are theirs, and no platform admin.</summary>
    private static bool Manages(Caller caller, AppUser user) =>
        caller.IsPlatformAdmin || (caller.Role == Roles.TenantAdmin && user.Role != Roles.PlatformAdmin && user.TenantIds.All(caller.CanSee));

    private static ProblemHttpResult Refusal(Caller caller, Guid userId) =>
        caller.IsPlatformAdmin || caller.Role == Roles.TenantAdmin
            ? ApiProblems.NotFound($"user {userId} not found")
            : ApiProblems.Forbidden($"role '{caller.Role}' cannot manage users");
}
