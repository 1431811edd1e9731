using System.Buffers;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Api.Tenants;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Backups;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Backups;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Backups;

/// <summary>The runbook's Backup and Recovery: tenant export and restore, automated backups, the retention purge's certificates.</summary>
public static class BackupsApi
{
    private static readonly HashSet<string> RestoreParameters = new(StringComparer.Ordinal) { "tenantId", "mode", "as", "adminEmail", "name", "ignoreQuotas" };

    public static IEndpointRouteBuilder MapBackupsApi(this IEndpointRouteBuilder routes)
    {
        // The export is the signed bundle (a JSON document) a restore takes back.
        routes.MapGroup("/api/tenants").WithTags("Backups").RequireAdmission(AuthExtensions.AuditReaderPolicy).MapGet("/export", ExportTenantAsync)
            .Produces<JsonObject>()
            .WithDescription("Downloads the tenant's data as one JSON bundle (an attachment, streamed), audited as `tenant.exported`. A tenant " +
                "admin gets their own tenant's (a canceled one's too) without password hashes or signature, for data portability, not restore; " +
                "a super-admin names the tenant with `?tenantId=` and gets a signed bundle with password hashes that a restore takes back. One " +
                "export per tenant and node at a time, else 429.");
        routes.MapGroup("/api/admin/tenants").WithTags("Backups").RequireAdmission(AuthExtensions.SuperAdminPolicy).MapPost("/restore", RestoreTenantAsync)
            .WithMetadata(new DocumentedBody(typeof(JsonObject), "application/json")).Produces<RestoreResponse>(StatusCodes.Status201Created)
            .WithMetadata(new QueryParameters(RestoreParameters), new ProblemResponses(409, 413, 415))
            .WithDescription("Restores a super-admin export sent as the body (up to `Shohayota:Backups:MaxRestoreBytes`): with no query it " +
                "recreates the bundle's own tenant, which must not exist (409); `?tenantId=…&mode=replace` writes over that tenant (not while it " +
                "is active), `?as=new&adminEmail=…` makes a copy under a new id. The bundle is checked whole (checksum, this server's signature, " +
                "every record's rules, the plan's quotas unless `ignoreQuotas=true`) and written in one transaction audited as `tenant.restored`, " +
                "or refused with nothing written (400 `invalid-bundle`, 403 `quota-exceeded`). Super-admins only.");

        var backups = routes.MapGroup("/api/admin/backups").WithTags("Backups").RequireAdmission(AuthExtensions.SuperAdminPolicy);
        backups.MapGet("/", ListBackupsAsync)
            .WithDescription("The complete backups, newest first: kind, trigger, size, tenants, the database dump (or why it was skipped), the " +
                "backup it continues and `keptUntil`. Super-admins only.");
        backups.MapPost("/", RunBackupAsync).WithMetadata(new DocumentedBody(typeof(RunBackupBody), "application/json", Optional: true))
            .WithMetadata(new ProblemResponses(409))
            .WithDescription("Runs a backup now → 201 with its summary: `{\"kind\": \"full\"}` (the default: every tenant's signed bundle and " +
                "a database dump when `pg_dump` is available) or `\"incremental\"` (per tenant, what changed since the previous backup). " +
                "Super-admins only.");
        backups.MapGet("/{id}", GetBackupAsync)
            .WithDescription("One backup with its files: each file's tenant, kind, SHA-256, size, audit seq and record counts. Super-admins " +
                "only; an unknown backup is 404.");
        backups.MapPost("/{id}/restore", RestoreFromBackupAsync).Produces<RestoreResponse>(StatusCodes.Status201Created)
            .WithMetadata(new QueryParameters(["tenantId", "mode", "ignoreQuotas"]), new ProblemResponses(409))
            .WithDescription("Restores one tenant (`?tenantId=`, required) to its state in this backup: its last full bundle and the " +
                "increments up to this backup, each checked against the manifest, its checksum and its signature, applied in one transaction; " +
                "other tenants are untouched. `&mode=replace` and `&ignoreQuotas=true` and the answer as for `POST /api/admin/tenants/restore`; " +
                "super-admins only.");

        var deletions = routes.MapGroup("/api/admin/deletions").WithTags("Backups").RequireAdmission(AuthExtensions.SuperAdminPolicy);
        deletions.MapGet("/", ListDeletionsAsync)
            .WithDescription("The deletion certificates of hard-deleted tenants (by an operator or the retention purge), newest first: who, " +
                "when, why, the rows removed per table, and which backups and final exports still hold the data until when. Keyset pagination " +
                "with `pageSize` (≤ 200, default 50) and `cursor`; super-admins only.");
        deletions.MapPost("/run", RunPurgeAsync).WithMetadata(new DocumentedBody(typeof(RunPurgeBody), "application/json", Optional: true))
            .WithDescription("Runs the retention purge now: canceled and deleted tenants whose `retentionUntil` has passed, oldest first and at " +
                "most `MaxTenantsPerRun`, get a final export and are hard-deleted, each with a deletion certificate; `{\"dryRun\": true}` only " +
                "reports what it would do. Answers each tenant's action; super-admins only.");
        return routes;
    }

    public sealed record RunBackupBody(string? Kind);

    public sealed record BackupResponse(
        string Id, string Kind, DateTimeOffset CreatedAt, DateTimeOffset CompletedAt, string? Previous, string Trigger, int Tenants, long Bytes,
        string? DatabaseDump, string? DatabaseDumpSkipped, DateTimeOffset KeptUntil);

    public sealed record BackupList(IEnumerable<BackupResponse> Items);

    public sealed record BackupFileResponse(
        string Name, Guid? TenantId, string Kind, string Sha256, long Bytes, long? AuditSeq, long Users, long Customers, long DeletedCustomers,
        long Contacts, long DeletedContacts, long Deals, long DeletedDeals, long Activities, long DeletedActivities, long AuditLogs);

    public sealed record BackupDetailsResponse(BackupResponse Backup, IEnumerable<BackupFileResponse> Files);

    /// <summary>Deletion certificates, each the signed JSON document the purge wrote.</summary>
    public sealed record DeletionList(IEnumerable<JsonObject> Items, string? NextCursor);

    public sealed record PurgeTenantResponse(
        Guid TenantId, string Name, string Status, DateTimeOffset RetentionUntil, string Action, string? Detail, string? FinalExport);

    public sealed record PurgeResponse(DateTimeOffset At, bool DryRun, int MaxTenants, IEnumerable<PurgeTenantResponse> Tenants);

    public sealed record RestoreCounts(long Users, long Customers, long Contacts, long Deals, long Activities, long Overrides, long AuditLogs);

    public sealed record RestoreResponse(
        AdminTenantsApi.TenantResponse Tenant, string Mode, Guid SourceTenantId, string? BackupId, RestoreCounts Counts, long AuditSeq);

    public sealed record RunPurgeBody(bool? DryRun);

    private static IBackupGrain Backups(IGrainFactory grains) => grains.GetGrain<IBackupGrain>("backups");

    /// <summary>The export for the signed-in caller (bearer token here, the UI's cookie at <c>/ui/export</c>), after admission.</summary>
    internal static async Task<IResult> ExportTenantAsync(
        HttpContext http, IGrainFactory grains, TenantExporter exporter, HeavyRouteLimiter heavy, string? tenantId)
    {
        var caller = http.User.ToCaller();
        var scope = TenantScope.Resolve(http, tenantId, "data export");
        if (scope.Problem is { } outOfScope)
        {
            return outOfScope;
        }

        var tenant = scope.Tenant;

        if (tenant == GrainKeys.SystemTenant)
        {
            return new FieldErrors().Check("tenantId", "The system tenant is not exported; full backups hold the whole database.").ToProblem();
        }

        var permit = heavy.TryEnter(http, HeavyRoute.Export, tenant, out var refused);
        if (permit is null)
        {
            return refused!;
        }

        var snapshot = await exporter.OpenAsync(tenant, http.RequestAborted);
        if (snapshot is null)
        {
            permit.Dispose();
            return Problems.From(Failure.NotFound, "No such tenant.");
        }

        return new ExportStream(snapshot, grains, caller.IsSuperAdmin, permit);
    }

    /// <summary>
    /// Streams the snapshot into the response, then records <c>tenant.exported</c> (checksum, size, counts) before the
    /// response completes; an export that fails half-way is recorded as failed and its response is cut off (no checksum).
    /// </summary>
    private sealed class ExportStream(TenantSnapshot snapshot, IGrainFactory grains, bool secrets, HeavyRoutePermit permit) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            // Held while the bundle streams, released (also on abort) before the response's last chunk can reach the client.
            using var __ = permit;
            await using var _ = snapshot;

            // A result runs after the endpoint filters returned: the caller they entered did not flow here.
            http.EnterCaller();
            var stamp = http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
            http.Response.StatusCode = StatusCodes.Status200OK;
            http.Response.ContentType = "application/json";
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"shohayota-tenant-{snapshot.TenantId:D}-{stamp}.json\"";
            http.Response.Headers.CacheControl = "no-store";
            http.Response.Headers.XContentTypeOptions = "nosniff";
            var log = grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(snapshot.TenantId));
            BundleResult result;
            try
            {
                result = await snapshot.WriteExportAsync(http.Response.Body, secrets, http.RequestAborted);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                await log.AppendAsync([new AuditDraft("tenant.exported", "tenant", snapshot.TenantId.ToString("D"), AuditOutcomes.Failed,
                    AuditChain.Details(new { secrets, error = e.GetType().Name }))]);
                throw;
            }

            var entry = new AuditDraft("tenant.exported", "tenant", snapshot.TenantId.ToString("D"), Details: AuditChain.Details(new
            {
                secrets,
                checksum = result.Checksum,
                signedBy = result.SignedBy,
                bytes = result.Bytes,
                users = result.Counts.Users,
                customers = result.Counts.Customers,
                contacts = result.Counts.Contacts,
                deals = result.Counts.Deals,
                activities = result.Counts.Activities,
                overrides = result.Counts.Overrides,
                auditLogs = result.Counts.AuditLogs,
                auditSeq = result.AuditSeq,
            }));
            await log.AppendAsync([entry]);
            if (secrets)
            {
                await grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(GrainKeys.SystemTenant)).AppendAsync([entry]);
            }
        }
    }

    private static async Task<IResult> RestoreTenantAsync(
        HttpContext http, TenantRestorer restorer, BackupStore store, IOptions<BackupOptions> options)
    {
        var query = http.Request.Query;
        var errors = new FieldErrors();
        foreach (var unknown in query.Keys.Where(k => !RestoreParameters.Contains(k)))
        {
            errors.Check(unknown, "Unknown parameter.");
        }

        var replace = query["mode"].ToString() is { Length: > 0 } mode ? mode == "replace" ? true : (bool?)null : false;
        var clone = query["as"].ToString() is { Length: > 0 } target ? target == "new" ? true : (bool?)null : false;
        var (tenantId, tenantError) = RestoreTarget(query);
        var (ignoreQuotas, ignoreError) = IgnoreQuotas(query);
        errors.Check("mode", replace is null ? "mode must be \"replace\" (or left out)." : null)
            .Check("tenantId", tenantError
                ?? (replace == true && tenantId is null ? "Name the tenant to replace (tenantId, the bundle's tenant): a bundle never chooses what it replaces." : null)
                ?? (clone == true && tenantId is not null ? "as=new makes a new tenant; tenantId names an existing one. Use one of them." : null))
            .Check("ignoreQuotas", ignoreError)
            .Check("as", clone is null ? "as must be \"new\" (or left out)." : replace == true && clone == true ? "Use either mode=replace or as=new." : null)
            .Check("adminEmail", clone != true && query.ContainsKey("adminEmail") ? "adminEmail goes with as=new." : null)
            .Check("name", clone != true && query.ContainsKey("name") ? "name goes with as=new."
                : Grains.Security.Validation.Name(query["name"].ToString() is { Length: > 0 } n ? n : "-", "The copy's name"));
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        if (!http.Request.HasJsonContentType())
        {
            return Problems.Create(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
                "Send the export as application/json (curl: -H 'Content-Type: application/json' --data-binary @tenant-export.json).");
        }

        var limit = options.Value.MaxRestoreBytes;
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }

        if (http.Request.ContentLength > limit)
        {
            return TooLarge(limit);
        }

        try
        {
            var outcome = await SpoolAndRestoreAsync(http.Request.Body, restorer, store, path => new RestoreRequest(
                [path], clone == true ? RestoreModes.Clone : replace == true ? RestoreModes.Replace : RestoreModes.New, tenantId,
                IgnoreQuotas: ignoreQuotas,
                AdminEmails: query["adminEmail"].Where(e => e is not null).Select(e => e!).ToList(),
                CloneName: query["name"].ToString() is { Length: > 0 } name ? name.Trim() : null,
                ChecksumsVerified: true), http.RequestAborted);
            return Restored(outcome);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(limit);
        }
    }

    /// <summary>
    /// Writes an uploaded export to the spool directory while checking its checksum, then restores it (the REST handler
    /// and the super-admin console's upload); a bad checksum is a <see cref="Failure.Validation"/> and writes nothing.
    /// </summary>
    public static async Task<Outcome<RestoreResult>> SpoolAndRestoreAsync(
        Stream body, TenantRestorer restorer, BackupStore store, Func<string, RestoreRequest> request, CancellationToken cancellationToken)
    {
        var path = Path.Combine(store.SpoolDirectory, $"{Guid.NewGuid():N}.json");
        try
        {
            using var checksum = new BundleChecksum();
            var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
            try
            {
                await using var file = new FileStream(path, BackupStore.NewFile);
                int read;
                while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    checksum.Append(buffer.AsSpan(0, read));
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            try
            {
                checksum.Complete();
            }
            catch (BundleException e)
            {
                return Outcome<RestoreResult>.Fail(Failure.Validation, e.Message);
            }

            return await restorer.RestoreAsync(request(path), cancellationToken);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<Ok<BackupList>> ListBackupsAsync(IGrainFactory grains) =>
        TypedResults.Ok(new BackupList((await Backups(grains).ListAsync()).Select(ToResponse)));

    private static async Task<Results<Created<BackupResponse>, FieldProblem, ProblemHttpResult>> RunBackupAsync(HttpContext http, IGrainFactory grains)
    {
        var body = await OptionalBodyAsync<RunBackupBody>(http);
        if (body.Problem is not null)
        {
            return body.Problem;
        }

        var kind = body.Value?.Kind ?? BackupKinds.Full;
        if (!BackupKinds.IsValid(kind))
        {
            return new FieldErrors().Check("kind", "kind must be \"full\" or \"incremental\".").ToProblem();
        }

        var outcome = await Backups(grains).RunAsync(kind);
        return outcome.Succeeded
            ? TypedResults.Created($"/api/admin/backups/{outcome.Value!.Id}", ToResponse(outcome.Value))
            : Problems.From(outcome.Failure, outcome.Detail);
    }

    private static async Task<Results<Ok<BackupDetailsResponse>, ProblemHttpResult>> GetBackupAsync(string id, IGrainFactory grains)
    {
        var backup = BackupStore.IsId(id) ? await Backups(grains).GetAsync(id) : null;
        return backup is null
            ? Problems.From(Failure.NotFound, "No such backup.")
            : TypedResults.Ok(new BackupDetailsResponse(
                ToResponse(backup.Summary),
                backup.Files.Select(f => new BackupFileResponse(
                    f.Name, f.TenantId, f.Kind, f.Sha256, f.Bytes, f.AuditSeq, f.Users, f.Customers, f.DeletedCustomers, f.Contacts, f.DeletedContacts,
                    f.Deals, f.DeletedDeals, f.Activities, f.DeletedActivities, f.AuditLogs))));
    }

    private static async Task<IResult> RestoreFromBackupAsync(string id, HttpContext http, IGrainFactory grains)
    {
        var query = http.Request.Query;
        var errors = new FieldErrors();
        foreach (var unknown in query.Keys.Where(k => k is not ("tenantId" or "mode" or "ignoreQuotas")))
        {
            errors.Check(unknown, "Unknown parameter.");
        }

        var (ignoreQuotas, ignoreError) = IgnoreQuotas(query);
        errors.Check("tenantId", Guid.TryParse(query["tenantId"].ToString(), out var tenantId) ? null : "Name the tenant to restore (its id).")
            .Check("mode", query["mode"].ToString() is "" or "replace" ? null : "mode must be \"replace\" (or left out).")
            .Check("ignoreQuotas", ignoreError);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        if (!BackupStore.IsId(id))
        {
            return Problems.From(Failure.NotFound, "No such backup.");
        }

        return Restored(await Backups(grains).RestoreTenantAsync(id, tenantId, query["mode"] == "replace", ignoreQuotas));
    }

    /// <summary>?tenantId=: the tenant a restore is for (the bundle must hold it); left out, the bundle may only recreate its own, absent tenant.</summary>
    private static (Guid? TenantId, string? Error) RestoreTarget(IQueryCollection query) =>
        query["tenantId"].ToString() is not { Length: > 0 } text ? (null, null)
        : Guid.TryParse(text, out var id) ? (id, null)
        : (null, "tenantId must be a tenant id.");

    /// <summary>?ignoreQuotas=true: restore a tenant above its plan's limits (the restore's audit entry records it).</summary>
    private static (bool Value, string? Error) IgnoreQuotas(IQueryCollection query) => query["ignoreQuotas"].ToString() switch
    {
        "" or "false" => (false, null),
        "true" => (true, null),
        _ => (false, "ignoreQuotas must be true or false."),
    };

    private static async Task<Results<Ok<DeletionList>, FieldProblem>> ListDeletionsAsync(IGrainFactory grains, int? pageSize, string? cursor)
    {
        var errors = new FieldErrors()
            .Check("pageSize", pageSize is null or (>= 1 and <= 200) ? null : "pageSize must be between 1 and 200.")
            .Check("cursor", DeletionCertificates.IsCursor(cursor) ? null : "The cursor is not one this API returned.");
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var page = await grains.GetGrain<IRetentionPurgeGrain>("retention-purge").ListDeletionsAsync(pageSize ?? 50, cursor);
        return TypedResults.Ok(new DeletionList(page.Certificates.Select(c => JsonNode.Parse(c)!.AsObject()), page.NextCursor));
    }

    private static async Task<Results<Ok<PurgeResponse>, ProblemHttpResult>> RunPurgeAsync(HttpContext http, IGrainFactory grains)
    {
        var body = await OptionalBodyAsync<RunPurgeBody>(http);
        if (body.Problem is not null)
        {
            return body.Problem;
        }

        var report = await grains.GetGrain<IRetentionPurgeGrain>("retention-purge").RunAsync(body.Value?.DryRun);
        return TypedResults.Ok(new PurgeResponse(report.At, report.DryRun, report.MaxTenants,
            report.Tenants.Select(t => new PurgeTenantResponse(t.TenantId, t.Name, t.Status, t.RetentionUntil, t.Action, t.Detail, t.FinalExport))));
    }

    private static BackupResponse ToResponse(BackupSummary b) =>
        new(b.Id, b.Kind, b.CreatedAt, b.CompletedAt, b.Previous, b.Trigger, b.Tenants, b.Bytes, b.DatabaseDump, b.DatabaseDumpSkipped, b.KeptUntil);

    private static Results<Created<RestoreResponse>, ProblemHttpResult> Restored(Outcome<RestoreResult> outcome)
    {
        if (!outcome.Succeeded)
        {
            return outcome.Failure == Failure.Validation ? InvalidBundle(outcome.Detail!) : Problems.From(outcome);
        }

        var r = outcome.Value!;
        return TypedResults.Created($"/api/admin/tenants/{r.Tenant.Id}", new RestoreResponse(
            AdminTenantsApi.ToResponse(r.Tenant), r.Mode, r.SourceTenantId, r.BackupId,
            new RestoreCounts(r.Users, r.Customers, r.Contacts, r.Deals, r.Activities, r.Overrides, r.AuditLogs), r.AuditSeq));
    }

    /// <summary>How the API words an invalid bundle (the console shows the same text).</summary>
    public static string InvalidBundleDetail(string detail) => detail + " Nothing was written.";

    private static ProblemHttpResult InvalidBundle(string detail) =>
        Problems.Create(StatusCodes.Status400BadRequest, "invalid-bundle", "Invalid bundle", InvalidBundleDetail(detail));

    private static ProblemHttpResult TooLarge(long limit) =>
        Problems.Create(StatusCodes.Status413PayloadTooLarge, "payload-too-large", "Payload too large",
            $"A restore accepts exports up to {limit / (1024 * 1024.0):0.##} MiB (Shohayota:Backups:MaxRestoreBytes).");

    private static async Task<(T? Value, ProblemHttpResult? Problem)> OptionalBodyAsync<T>(HttpContext http)
        where T : class
    {
        if (http.Request.ContentLength is not > 0 && http.Request.Headers.TransferEncoding.Count == 0)
        {
            return (null, null);
        }

        return http.Request.HasJsonContentType()
            ? (await http.Request.ReadFromJsonAsync<T>(), null)
            : (null, Problems.Create(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported media type", "Send the body as application/json."));
    }
}
