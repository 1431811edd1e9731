using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Quotas;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Tenants;

/// <summary>The runbook's tenant management: provision, list, inspect and move tenants through their lifecycle.</summary>
public static class AdminTenantsApi
{
    public static IEndpointRouteBuilder MapAdminTenantsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/admin/tenants").WithTags("Admin: tenants").RequireAdmission(AuthExtensions.SuperAdminPolicy);
        group.MapPost("/provision", ProvisionTenantAsync).WithMetadata(new ProblemResponses(409, 422),
                new RequestExamples(("The runbook's new tenant", """
                    {"name": "New Company", "contactEmail": "contact@newcompany.com", "adminName": "Admin User",
                     "adminEmail": "admin@newcompany.com", "adminPassword": "secure_password", "plan": "pro"}
                    """)))
            .WithDescription("Creates a tenant on a plan together with its first tenant admin, in one transaction → 201 with the tenant and " +
                "the admin's id. An `Idempotency-Key` header (1–200 characters) makes a retry answer with the tenant the first request created " +
                "(the same key with another body: 422). Audited as `tenant.provisioned` in the tenant's and the system log; super-admins only.");
        group.MapGet("/", ListTenantsAsync)
            .WithDescription("The tenants, filtered by `status`, `plan` and `q` (in the name), with keyset pagination by `pageSize` (≤ 200, " +
                "default 50) and `cursor` → `{items, nextCursor}`. Super-admins only.");
        group.MapGet("/{id:guid}", GetTenantAsync)
            .WithDescription("One tenant: name, contact e-mail, plan, status (with a suspension's reason), when it was created and last changed " +
                "status, and `retentionUntil` once canceled or deleted. Super-admins only; an unknown tenant is 404.");
        // 409: a transition the tenant's status does not allow (or a hard delete before its retention ends).
        // The body of a suspension and a deletion is optional (the runbook's suspension sends none).
        group.MapPost("/{id:guid}/suspend", SuspendTenantAsync).WithMetadata(new DocumentedBody(typeof(SuspendBody), "application/json", Optional: true))
            .WithMetadata(new ProblemResponses(409), new RequestExamples(("With a reason", """{"reason": "Payment failure"}""")))
            .WithDescription("Suspends an active tenant, with an optional `{\"reason\"}` (≤ 1000 characters): its users get 403 " +
                "`tenant-suspended` on every request and cannot refresh their tokens. Suspending a suspended tenant changes nothing, a canceled or " +
                "deleted one is 409 `transition-not-allowed`; audited as `tenant.suspended` in the tenant's and the system log. Super-admins only.");
        group.MapPost("/{id:guid}/reactivate", (Guid id, IGrainFactory grains) => Respond(Tenant(grains, id).ReactivateAsync()))
            .WithMetadata(new ProblemResponses(409))
            .WithDescription("Makes a suspended, canceled or deleted tenant active again; a canceled or deleted one only until its " +
                "`retentionUntil` (409 after). Reactivating an active tenant changes nothing; audited as `tenant.reactivated` in the tenant's " +
                "and the system log. Super-admins only.");
        group.MapPost("/{id:guid}/cancel", (Guid id, IGrainFactory grains) => Respond(Tenant(grains, id).CancelAsync()))
            .WithMetadata(new ProblemResponses(409))
            .WithDescription("Cancels an active or suspended tenant: it becomes read-only (writes are 403 `tenant-canceled`) and its " +
                "retention period starts (`retentionUntil`), after which the retention purge removes it. A deleted tenant is 409; audited as " +
                "`tenant.canceled` in the tenant's and the system log. Super-admins only.");
        group.MapPost("/{id:guid}/delete", DeleteTenantAsync).WithMetadata(new DocumentedBody(typeof(DeleteBody), "application/json", Optional: true)).WithMetadata(new ProblemResponses(409), new RequestExamples(
                ("Soft delete (recommended)", """{"hardDelete": false}"""),
                ("Hard delete after the retention period", """{"hardDelete": true, "force": true}""")))
            .WithDescription("Soft-deletes the tenant by default: its users are refused, and it can be reactivated until its retention ends " +
                "(audited as `tenant.deleted`). `{\"hardDelete\": true}` removes every row and grain state of a canceled or deleted tenant whose " +
                "retention has ended (any tenant, at once, with `\"force\": true`; else 409 `retention-not-elapsed`), audited as " +
                "`tenant.purged` in the system log with a deletion certificate. Super-admins only.");
        return routes;
    }

    public sealed record ProvisionBody(string? Name, string? ContactEmail, string? AdminName, string? AdminEmail, string? AdminPassword, string? Plan);

    public sealed record SuspendBody(string? Reason);

    public sealed record DeleteBody(bool HardDelete, bool Force);

    public sealed record TenantResponse(
        Guid Id, string Name, string ContactEmail, string Plan, string Status, string? StatusReason,
        DateTimeOffset CreatedAt, DateTimeOffset StatusChangedAt, DateTimeOffset? RetentionUntil);

    public sealed record AdminBody(Guid Id, string Email);

    public sealed record TenantList(IEnumerable<TenantResponse> Items, string? NextCursor);

    public sealed record ProvisionResponse(
        Guid Id, string Name, string ContactEmail, string Plan, string Status, DateTimeOffset CreatedAt, AdminBody Admin);

    public static TenantResponse ToResponse(TenantDetails t) =>
        new(t.Id, t.Name, t.ContactEmail, t.Plan, t.Status.ToWire(), t.StatusReason, t.CreatedAt, t.StatusChangedAt, t.RetentionUntil);

    /// <summary>The provision request's field errors; the super-admin console shows the same ones next to its fields.</summary>
    public static FieldErrors ValidateProvision(ProvisionBody body, IReadOnlyCollection<string> plans) => new FieldErrors()
        .Check("name", Validation.Name(body.Name))
        .Check("contactEmail", Validation.Email(body.ContactEmail))
        .Check("adminName", Validation.Name(body.AdminName, "The admin's name"))
        .Check("adminEmail", Validation.Email(body.AdminEmail))
        .Check("adminPassword", PasswordHashing.Validate(body.AdminPassword, body.AdminEmail))
        .Check("plan", body.Plan is not null && plans.Contains(body.Plan) ? null : $"Plan must be one of: {string.Join(", ", plans)}.");

    /// <summary>A suspension reason's error, if any.</summary>
    public static string? ValidateSuspendReason(string? reason) => reason is { Length: > 1000 } ? "A reason has at most 1000 characters." : null;

    private static ITenantGrain Tenant(IGrainFactory grains, Guid id) => grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(id));

    private static async Task<Results<Created<ProvisionResponse>, FieldProblem, ProblemHttpResult>> ProvisionTenantAsync(
        ProvisionBody body, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey, IGrainFactory grains,
        Microsoft.Extensions.Options.IOptions<PlansOptions> options)
    {
        var errors = ValidateProvision(body, options.Value.Keys);
        if (idempotencyKey is { Length: 0 or > 200 })
        {
            errors.Check("Idempotency-Key", "The Idempotency-Key header must have 1 to 200 characters.");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var request = new ProvisionTenantRequest(body.Name!, body.ContactEmail!, body.AdminName!, body.AdminEmail!, body.AdminPassword!, body.Plan!);
        var outcome = idempotencyKey is null
            ? await Tenant(grains, Guid.NewGuid()).ProvisionAsync(request)
            : await grains.GetGrain<IProvisioningGrain>(GrainKeys.Provisioning(idempotencyKey)).ProvisionAsync(request);
        if (!outcome.Succeeded)
        {
            return Problems.From(outcome.Failure, outcome.Detail);
        }

        var t = outcome.Value!.Tenant;
        return TypedResults.Created(
            $"/api/admin/tenants/{t.Id}",
            new ProvisionResponse(t.Id, t.Name, t.ContactEmail, t.Plan, t.Status.ToWire(), t.CreatedAt, new AdminBody(outcome.Value.AdminId, outcome.Value.AdminEmail)));
    }

    private static async Task<Results<Ok<TenantList>, FieldProblem>> ListTenantsAsync(IGrainFactory grains, string? status, string? plan, string? q, string? cursor, int? pageSize)
    {
        var errors = new FieldErrors()
            .Check("status", status is null || TenantStatusNames.Parse(status) is not null ? null : "Status must be active, suspended, canceled or deleted.")
            .Check("pageSize", pageSize is null or (>= 1 and <= 200) ? null : "pageSize must be between 1 and 200.")
            .Check("cursor", cursor is null || Guid.TryParseExact(cursor, "N", out _) ? null : "The cursor is not one this API returned.");
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var page = await grains.GetGrain<ITenantDirectoryGrain>("tenants").ListAsync(new TenantQuery(
            TenantStatusNames.Parse(status), plan, q, pageSize ?? 50, cursor is null ? null : Guid.ParseExact(cursor, "N")));
        return TypedResults.Ok(new TenantList(page.Items.Select(ToResponse), page.NextCursor));
    }

    private static async Task<Results<Ok<TenantResponse>, ProblemHttpResult>> GetTenantAsync(Guid id, IGrainFactory grains)
    {
        var tenant = await Tenant(grains, id).GetAsync();
        return tenant is null ? Problems.From(Failure.NotFound, "No such tenant.") : TypedResults.Ok(ToResponse(tenant));
    }

    private static Task<Results<Ok<TenantResponse>, FieldProblem, ProblemHttpResult>> SuspendTenantAsync(Guid id, IGrainFactory grains, HttpContext http) =>
        WithOptionalBodyAsync<SuspendBody>(http, async body =>
            ValidateSuspendReason(body?.Reason) is { } error
                ? new FieldErrors().Check("reason", error).ToProblem()
                : Widen(await Respond(Tenant(grains, id).SuspendAsync(body?.Reason))));

    private static Task<Results<Ok<TenantResponse>, FieldProblem, ProblemHttpResult>> DeleteTenantAsync(Guid id, IGrainFactory grains, HttpContext http) =>
        WithOptionalBodyAsync<DeleteBody>(http, async body => Widen(await Respond(Tenant(grains, id).DeleteAsync(body?.HardDelete ?? false, body?.Force ?? false))));

    private static async Task<Results<Ok<TenantResponse>, ProblemHttpResult>> Respond(Task<Outcome<TenantDetails>> transition)
    {
        var outcome = await transition;
        return outcome.Succeeded ? TypedResults.Ok(ToResponse(outcome.Value!)) : Problems.From(outcome.Failure, outcome.Detail);
    }

    /// <summary>A transition's answer among those of a route that may also refuse its body.</summary>
    private static Results<Ok<TenantResponse>, FieldProblem, ProblemHttpResult> Widen(Results<Ok<TenantResponse>, ProblemHttpResult> answer) =>
        answer.Result is Ok<TenantResponse> ok ? ok : (ProblemHttpResult)answer.Result;

    // The runbook calls suspend without a body and delete with one; both are accepted.
    private static async Task<Results<Ok<TenantResponse>, FieldProblem, ProblemHttpResult>> WithOptionalBodyAsync<T>(
        HttpContext http, Func<T?, Task<Results<Ok<TenantResponse>, FieldProblem, ProblemHttpResult>>> handle)
        where T : class
    {
        T? body = null;
        if (http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0)
        {
            if (!http.Request.HasJsonContentType())
            {
                return Problems.Create(415, "unsupported-media-type", "Unsupported media type", "Send the body as application/json.");
            }

            body = await http.Request.ReadFromJsonAsync<T>();
        }

        return await handle(body);
    }
}
