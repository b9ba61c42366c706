using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.Options;
using Alto.Gateway.Validation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Alto.Gateway.Apis;

public sealed record LoginRequest(string? Username, string? Password);

public sealed record LoginResponse(string AccessToken, string TokenType, DateTimeOffset ExpiresAt, UserView User);

public sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);

/// <summary>A user as the API shows it: never with its password hash.</summary>
public sealed record UserView(Guid Id, string Username, string Role, bool Disabled, IReadOnlyList<Guid> TenantIds, DateTimeOffset CreatedAt, DateTimeOffset? LastLoginAt)
{
    /// <summary>
    /// On the users list and a user's page: whether the caller may change, disable, unlock and
    /// sign out this user (the console offers only those actions); absent elsewhere.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public bool? Manageable { get; init; }

    public static UserView From(AppUser user) =>
        new(user.Id, user.Username, user.Role, user.Disabled, user.TenantIds, user.CreatedAt, user.LastLoginAt);
}

public static class AuthApi
{
    public static RouteGroupBuilder MapAuthApi(this RouteGroupBuilder api)
    {
        var auth = api.MapGroup("/auth").WithTags("Sign-in");
        auth.MapPost("/login", LoginAsync).Allows(Access.Anonymous).AllowAnonymous().RequireRateLimiting(LoginRateLimit.Policy)
            .WithSummary("Sign in; returns a bearer token");
        auth.MapGet("/me", MeAsync).Allows(Access.SignedIn).WithSummary("The signed-in user");
        auth.MapPost("/password", ChangePasswordAsync).Allows(Access.SignedIn)
            .WithSummary("Change the signed-in user's password; every other session of the user ends, and the answer carries this one's new token");
        return api;
    }

    public static async Task<Results<Ok<LoginResponse>, ValidationProblem, ProblemHttpResult>> LoginAsync(
        LoginRequest request, UserStore users, PasswordSignIn signIn, TokenIssuer tokens, GatewayAudit audit, HttpContext http,
        CancellationToken cancellationToken)
    {
        var errors = new RequestErrors();
        var username = errors.Text("username", request.Username, 100, required: true);
        if (string.IsNullOrEmpty(request.Password))
        {
            errors.Add("password", "password is required");
        }
        else if (request.Password.Length > PasswordRules.MaximumLength)
        {
            errors.Add("password", $"password must be at most {PasswordRules.MaximumLength} characters");
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }

        if (await signIn.TryAsync(http, username!, request.Password!, cancellationToken) is not { } user)
        {
            // The same answer whatever the reason, so it tells nothing about the account.
            return ApiProblems.Unauthorized("wrong user name or password, or the account is disabled or locked");
        }
        await users.RecordLoginAsync(user.Id, PasswordSignIn.AddressOf(http), cancellationToken);
        await audit.RecordAsync(http, $"user:{user.Username}", "auth.signed_in", "user", user.Id.ToString(), succeeded: true,
            new Dictionary<string, object?> { ["role"] = user.Role });
        var token = tokens.Issue(user);
        return TypedResults.Ok(new LoginResponse(token.AccessToken, "Bearer", token.ExpiresAt, UserView.From(user)));
    }

    public static async Task<Results<Ok<UserView>, ProblemHttpResult>> MeAsync(
        [AsParameters] GatewayServices services, UserStore users)
    {
        var stored = await users.FindByIdAsync(services.Caller.UserId, services.Cancellation);
        return stored is null ? ApiProblems.NotFound("the signed-in user no longer exists") : TypedResults.Ok(UserView.From(stored.User));
    }

    public static async Task<Results<Ok<LoginResponse>, ValidationProblem, ProblemHttpResult>> ChangePasswordAsync(
        [AsParameters] GatewayServices services, ChangePasswordRequest request, UserStore users, PasswordHashing passwords, PasswordSignIn signIn,
        TokenIssuer tokens, HttpContext http)
    {
        var errors = new RequestErrors();
        if (string.IsNullOrEmpty(request.CurrentPassword))
        {
            errors.Add("currentPassword", "currentPassword is required");
        }
        UserRules.NewPassword(errors, "newPassword", request.NewPassword, services.Caller.Name);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var stored = await users.FindByIdAsync(services.Caller.UserId, services.Cancellation);
        if (stored is null)
        {
            return ApiProblems.NotFound("the signed-in user no longer exists");
        }
        // A guess at the current password with a stolen token counts toward the lockout like any other.
        if (await signIn.CheckCurrentAsync(http, stored, request.CurrentPassword!, services.Cancellation) is null)
        {
            return ApiProblems.Invalid("currentPassword", "currentPassword is wrong (or the account is locked for this address)");
        }
        // Every other session ends (a stolen token too); this one goes on with the token in the answer.
        var version = await users.ChangePasswordAsync(stored.User.Id, passwords.Hash(request.NewPassword!),
            GatewayAudit.Entry(http, GatewayAudit.ActorOf(services.User), "user.password_changed", "user", stored.User.Id.ToString(), succeeded: true,
                new Dictionary<string, object?> { ["sessionsEnded"] = true }),
            services.Cancellation);
        var user = stored.User with { SessionVersion = version };
        var token = tokens.Issue(user);
        return TypedResults.Ok(new LoginResponse(token.AccessToken, "Bearer", token.ExpiresAt, UserView.From(user)));
    }
}
