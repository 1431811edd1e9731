using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Users;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Users;

public static class UsersApi
{
    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/users").WithTags("Users").RequireAdmission(AuthExtensions.TenantAdminPolicy);
        group.MapGet("/", ListUsersAsync)
            .WithDescription("The tenant's users: id, e-mail, name, role, whether disabled, and when created. Tenant admins (or an admin API key) only.");
        // Creating, disabling and enabling people: a tenant admin signed in as themselves (an admin API key or a support
        // session would leave an account behind that outlives the key or the session), like managing keys.
        group.MapPost("/", CreateUserAsync).RequireAuthorization(AuthExtensions.TenantAdminInPersonPolicy).WithMetadata(new ProblemResponses(409))
            .WithDescription("Creates a user of the tenant (`{\"email\", \"name\", \"password\", \"role\"?}`, role `member` by default; the " +
                "password policy applies) → 201. 409 `duplicate-email` only when another user of this tenant has the address; counts against the " +
                "users quota (403 `quota-exceeded` beyond) and is audited as `user.created`. Tenant admins signed in as themselves only (an API key or a support session: 403).");
        group.MapPost("/{id:guid}/disable", (Guid id, HttpContext http, IGrainFactory grains) => SetDisabledAsync(id, true, http, grains))
            .RequireAuthorization(AuthExtensions.TenantAdminInPersonPolicy)
            .WithDescription("Disables a user of the tenant: their requests are refused (403 `user-disabled`) and every session of theirs is " +
                "revoked; disabling oneself is 409. Audited as `user.disabled`; another tenant's user is 404 like a missing one. Tenant admins " +
                "signed in as themselves only (an API key or a support session: 403).");
        group.MapPost("/{id:guid}/enable", (Guid id, HttpContext http, IGrainFactory grains) => SetDisabledAsync(id, false, http, grains))
            .RequireAuthorization(AuthExtensions.TenantAdminInPersonPolicy)
            .WithDescription("Enables a disabled user again; their revoked sessions stay revoked, so they sign in afresh. Audited as " +
                "`user.enabled`; another tenant's user is 404 like a missing one. Tenant admins signed in as themselves only (an API key or a support session: 403).");
        return routes;
    }

    public sealed record CreateUserBody(string? Email, string? Name, string? Password, string? Role);

    public sealed record UserResponse(Guid Id, string Email, string Name, string Role, bool Disabled, DateTimeOffset CreatedAt);

    public sealed record UserList(IEnumerable<UserResponse> Items);

    private static UserResponse ToResponse(UserDetails user) => new(user.Id, user.Email, user.Name, user.Role, user.Disabled, user.CreatedAt);

    private static async Task<Ok<UserList>> ListUsersAsync(HttpContext http, IGrainFactory grains)
    {
        var caller = http.User.ToCaller();
        var users = await grains.GetGrain<IUserDirectoryGrain>("users").ListAsync(caller.TenantId);
        return TypedResults.Ok(new UserList(users.Select(ToResponse)));
    }

    private static async Task<Results<Created<UserResponse>, FieldProblem, ProblemHttpResult>> CreateUserAsync(CreateUserBody body, HttpContext http, IGrainFactory grains)
    {
        var errors = new FieldErrors()
            .Check("email", Validation.Email(body.Email))
            .Check("name", Validation.Name(body.Name))
            .Check("password", PasswordHashing.Validate(body.Password, body.Email))
            .Check("role", body.Role is null || Roles.IsTenantRole(body.Role) ? null : $"Role must be \"{Roles.TenantAdmin}\" or \"{Roles.Member}\".");
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var caller = http.User.ToCaller();
        var id = Guid.NewGuid();
        var outcome = await grains.GetGrain<IUserGrain>(GrainKeys.User(caller.TenantId, id))
            .CreateAsync(new CreateUserRequest(body.Email!, body.Name!, body.Password!, body.Role ?? Roles.Member));
        return outcome.Succeeded
            ? TypedResults.Created($"/api/users/{id}", ToResponse(outcome.Value!))
            : Problems.From(outcome);
    }

    private static async Task<Results<Ok<UserResponse>, ProblemHttpResult>> SetDisabledAsync(Guid id, bool disabled, HttpContext http, IGrainFactory grains)
    {
        var caller = http.User.ToCaller();
        var outcome = await grains.GetGrain<IUserGrain>(GrainKeys.User(caller.TenantId, id)).SetDisabledAsync(disabled);
        return outcome.Succeeded ? TypedResults.Ok(ToResponse(outcome.Value!)) : Problems.From(outcome);
    }
}
