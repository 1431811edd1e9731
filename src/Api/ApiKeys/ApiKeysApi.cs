using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Api.Tenants;
using Shohayota.Grains.Interfaces.ApiKeys;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.ApiKeys;

/// <summary>
/// Tenant API keys: a tenant admin (signed in as a person) creates, lists and revokes the tenant's keys; a super-admin
/// lists and revokes any tenant's. The secret is in the creation's answer only.
/// </summary>
public static class ApiKeysApi
{
    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/api-keys").WithTags("API keys").RequireAdmission(AuthExtensions.TenantAdminInPersonPolicy);
        group.MapGet("/", (HttpContext http, IGrainFactory grains) => ListAsync(Keys(grains, http.User.ToCaller().TenantId)))
            .WithDescription("The tenant's API keys, revoked and expired ones too, without their secrets: name, role, prefix, creation, " +
                "expiry, revocation, last use and own rate limit. A tenant admin signed in as themselves; never an API key or a support session (403).");
        group.MapPost("/", CreateAsync)
            .WithMetadata(new ProblemResponses(409), new RequestExamples(
                ("A nightly sync", """{"name": "nightly sync", "role": "member"}"""),
                ("A partner's key, at most 120 requests a minute", """{"name": "partner portal", "role": "member", "rateLimitPerMinute": 120}""")))
            .WithDescription("Creates an API key (`{\"name\", \"role\"?, \"expiresAt\"?, \"rateLimitPerMinute\"?}`, role `member` by " +
                "default) → 201 with its `secret`, shown this once and never again. At most 50 active keys per tenant (409 beyond); audited as " +
                "`api_key.created`. A tenant admin signed in as themselves; never an API key or a support session (403).");
        group.MapDelete("/{id:guid}", (Guid id, HttpContext http, IGrainFactory grains, ApiKeyCache cache) =>
                RevokeAsync(Keys(grains, http.User.ToCaller().TenantId), id, cache))
            .WithDescription("Revokes one of the tenant's API keys → 200 with its `revokedAt` (revoking it again changes nothing); the key is " +
                "refused (401) at once on this node and within seconds on the others. Audited as `api_key.revoked`; another tenant's key is 404 " +
                "like a missing one. A tenant admin signed in as themselves; never an API key or a support session (403).");

        var admin = routes.MapGroup("/api/admin/tenants").WithTags("Admin: API keys").RequireAdmission(AuthExtensions.SuperAdminPolicy);
        admin.MapGet("/{id:guid}/api-keys", async (Guid id, IGrainFactory grains) =>
                await TenantRoutes.ExistsAsync(grains, id) ? await ListAsync(Keys(grains, id)) : TenantRoutes.NoSuchTenant())
            .WithDescription("Any tenant's API keys, as its admins see them in `GET /api/api-keys` (never their secrets). Super-admins only; " +
                "an unknown tenant is 404.");
        admin.MapDelete("/{id:guid}/api-keys/{keyId:guid}", async (Guid id, Guid keyId, IGrainFactory grains, ApiKeyCache cache) =>
                await TenantRoutes.ExistsAsync(grains, id) ? await RevokeAsync(Keys(grains, id), keyId, cache) : TenantRoutes.NoSuchTenant())
            .WithDescription("Revokes one of a tenant's API keys → 200 with its `revokedAt` (revoking it again changes nothing); the key is " +
                "refused (401) at once on this node and within seconds on the others. Audited as `api_key.revoked` in the tenant's log; " +
                "super-admins only (they cannot create keys). An unknown tenant or key is 404.");
        return routes;
    }

    /// <summary>
    /// <c>role</c>: tenant_admin or member (default member); <c>expiresAt</c>: optional, in the future;
    /// <c>rateLimitPerMinute</c>: optional, the key's own limit (1 to 1,000,000 requests a minute) within its tenant's.
    /// </summary>
    public sealed record CreateApiKeyBody(string? Name, string? Role, DateTimeOffset? ExpiresAt, int? RateLimitPerMinute = null);

    public sealed record ApiKeyResponse(
        Guid Id, string Name, string Role, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt,
        DateTimeOffset? LastUsedAt, int? RateLimitPerMinute);

    /// <summary>The creation's answer: the key and, this once, its secret.</summary>
    public sealed record CreatedApiKeyResponse(
        Guid Id, string Name, string Role, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, int? RateLimitPerMinute, string Secret);

    public sealed record ApiKeyList(IReadOnlyList<ApiKeyResponse> Items);

    private static ApiKeyResponse ToResponse(ApiKeyDetails key) =>
        new(key.Id, key.Name, key.Role, key.Prefix, key.CreatedAt, key.ExpiresAt, key.RevokedAt, key.LastUsedAt, key.RateLimitPerMinute);

    private static IApiKeysGrain Keys(IGrainFactory grains, Guid tenantId) => grains.GetGrain<IApiKeysGrain>(GrainKeys.ApiKeys(tenantId));

    private static async Task<Results<Ok<ApiKeyList>, ProblemHttpResult>> ListAsync(IApiKeysGrain keys)
    {
        var outcome = await keys.ListAsync();
        return outcome.Succeeded ? TypedResults.Ok(new ApiKeyList(outcome.Value!.Select(ToResponse).ToList())) : Problems.From(outcome);
    }

    private static async Task<Results<Created<CreatedApiKeyResponse>, FieldProblem, ProblemHttpResult>> CreateAsync(CreateApiKeyBody body, HttpContext http, IGrainFactory grains)
    {
        var errors = new FieldErrors()
            .Check("name", ApiKeySecret.ValidateName(body.Name))
            .Check("role", body.Role is null || Roles.IsTenantRole(body.Role) ? null : $"Role must be \"{Roles.TenantAdmin}\" or \"{Roles.Member}\".")
            .Check("expiresAt", body.ExpiresAt is { } expires && expires <= DateTimeOffset.UtcNow ? "expiresAt must be in the future." : null)
            .Check("rateLimitPerMinute", ApiKeySecret.ValidateRateLimit(body.RateLimitPerMinute));
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var outcome = await Keys(grains, http.User.ToCaller().TenantId).CreateAsync(new CreateApiKeyRequest(body.Name!, body.Role ?? Roles.Member, body.ExpiresAt, body.RateLimitPerMinute));
        if (!outcome.Succeeded)
        {
            return Problems.From(outcome);
        }

        var key = outcome.Value!.Key;
        return TypedResults.Created($"/api/api-keys/{key.Id}",
            new CreatedApiKeyResponse(key.Id, key.Name, key.Role, key.Prefix, key.CreatedAt, key.ExpiresAt, key.RateLimitPerMinute, outcome.Value.Secret));
    }

    private static async Task<Results<Ok<ApiKeyResponse>, ProblemHttpResult>> RevokeAsync(IApiKeysGrain keys, Guid keyId, ApiKeyCache cache)
    {
        var outcome = await keys.RevokeAsync(keyId);
        if (!outcome.Succeeded)
        {
            return Problems.From(outcome);
        }

        cache.Forget(keyId);
        return TypedResults.Ok(ToResponse(outcome.Value!));
    }
}
