using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.Validation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Alto.Gateway.Apis;

public sealed record CreateUserRequest(string? Username, string? Password, string? Role, Guid[]? TenantIds);

public sealed record UpdateUserRequest(bool? Disabled);

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
        users.MapPatch("/{userId:guid}", UpdateUserAsync).Allows(Access.UserAdmin)
            .WithSummary("Disable or enable a user (disabling also signs the user out everywhere)");
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
        return TypedResults.Ok(new Page<UserView>([.. list.Select(UserView.From)], request.Number, request.Size, total));
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
        if (role is null || !Roles.IsKnown(role))
        {
            errors.Add("role", $"role must be one of {string.Join(", ", Roles.All)}");
        }
        else if (role == Roles.PlatformAdmin && !caller.IsPlatformAdmin)
        {
            return ApiProblems.Forbidden("only a platform admin creates platform admins");
        }
        var tenants = (request.TenantIds ?? []).Distinct().ToArray();
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

    public static async Task<Results<Ok<UserView>, ValidationProblem, ProblemHttpResult>> UpdateUserAsync(
        [AsParameters] GatewayServices services, Guid userId, UpdateUserRequest request, UserStore users, OperatorSignIns operatorSignIns,
        HttpContext http)
    {
        if (await ManagedUserAsync(services, users, userId) is not { } target)
        {
            return Refusal(services.Caller, userId);
        }
        if (request.Disabled is not { } disabled)
        {
            return ApiProblems.Invalid("disabled", "disabled is required (true or false)");
        }
        if (disabled && userId == services.Caller.UserId)
        {
            return ApiProblems.Invalid("disabled", "you cannot disable your own account");
        }
        var after = await users.SetDisabledAsync(userId, disabled,
            changed => GatewayAudit.Entry(http, GatewayAudit.ActorOf(services.User), disabled ? "user.disabled" : "user.enabled", "user", userId.ToString(), succeeded: true,
                new Dictionary<string, object?> { ["before"] = UserView.From(target), ["after"] = UserView.From(changed) }),
            services.Cancellation);
        operatorSignIns.Forget(userId);
        return TypedResults.Ok(UserView.From(after));
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
        [AsParameters] GatewayServices services, Guid userId, UserStore users, OperatorSignIns operatorSignIns, HttpContext http)
    {
        if (await ManagedUserAsync(services, users, userId) is null)
        {
            return Refusal(services.Caller, userId);
        }
        await users.RevokeSessionsAsync(userId, GatewayAudit.Entry(http, GatewayAudit.ActorOf(services.User), "user.sessions_revoked", "user", userId.ToString(),
            succeeded: true, new Dictionary<string, object?>()), services.Cancellation);
        operatorSignIns.Forget(userId);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// The user, when the caller may manage it: platform admins manage everyone; tenant admins
    /// the users all of whose tenants are theirs, and no platform admin.
    /// </summary>
    private static async Task<AppUser?> ManagedUserAsync(GatewayServices services, UserStore users, Guid userId)
    {
        var caller = services.Caller;
        if (!caller.IsPlatformAdmin && caller.Role != Roles.TenantAdmin)
        {
            return null;
        }
        var user = (await users.FindByIdAsync(userId, services.Cancellation))?.User;
        return user is not null && (caller.IsPlatformAdmin || (user.Role != Roles.PlatformAdmin && user.TenantIds.All(caller.CanSee))) ? user : null;
    }

    private static ProblemHttpResult Refusal(Caller caller, Guid userId) =>
        caller.IsPlatformAdmin || caller.Role == Roles.TenantAdmin
            ? ApiProblems.NotFound($"user {userId} not found")
            : ApiProblems.Forbidden($"role '{caller.Role}' cannot manage users");
}
