using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Grains.Audit;
using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Database;
using Shohayota.Grains.Deals;
using Shohayota.Grains.Interfaces.Activities;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Backups;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Interfaces.Deals;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Quotas;
using Shohayota.Grains.Security;
using Shohayota.Grains.Tenants;

namespace Shohayota.Grains.Backups;

/// <summary>What to restore: a full export, then the increments after it, in order.</summary>
public sealed record RestoreRequest(
    IReadOnlyList<string> Files,
    string Mode,
    Guid? ExpectedTenantId = null,
    IReadOnlyList<string>? AdminEmails = null,
    string? CloneName = null,
    string? BackupId = null,
    bool ChecksumsVerified = false,
    bool IgnoreQuotas = false);

/// <summary>
/// Restores a tenant from bundles: every file is validated completely first (checksum, the server's signature, format,
/// version, truncation, the API's field rules, password-hash parameters, referential consistency, the audit chain) and
/// nothing is written unless all of it is sound; then one transaction (refused if the tenant would exceed its plan),
/// as the runtime role with the tenant set, writes every row and appends a <c>tenant.restored</c> entry to the
/// restored chain. Live grains of the tenant are dropped before (replace) and after, so none serves stale state.
/// </summary>
public sealed class TenantRestorer(
    NpgsqlDataSource dataSource,
    IGrainFactory grains,
    TimeProvider time,
    IOptions<TenantOptions> tenantOptions,
    AuditMaintenance maintenance,
    IOptions<PlansOptions> plans,
    BundleSigner signer,
    ILogger<TenantRestorer> logger)
{
    private const int BatchRows = 2000;
    private const int MaxReason = 500;
    private const int MaxStatusReason = 1000;
    private static readonly HashSet<string> Statuses = ["active", "suspended", "canceled", "deleted"];

    public async Task<Outcome<RestoreResult>> RestoreAsync(RestoreRequest request, CancellationToken cancellationToken = default)
    {
        if (Caller.Current is not { IsSuperAdmin: true })
        {
            return Outcome<RestoreResult>.Fail(Failure.Forbidden, "Only super-admins restore tenants.");
        }

        if (request.Files.Count == 0)
        {
            return Outcome<RestoreResult>.Fail(Failure.Validation, "Nothing to restore.");
        }

        if (request.Mode == RestoreModes.Replace && request.ExpectedTenantId is null)
        {
            return Outcome<RestoreResult>.Fail(Failure.Validation, "Name the tenant to replace (tenantId): a bundle never chooses which tenant it replaces.");
        }

        Plan plan;
        try
        {
            // Parsing reads files synchronously: off the caller's scheduler (a grain's, or a request's).
            plan = await Task.Run(() => ValidateAsync(request, cancellationToken), cancellationToken);
        }
        catch (BundleException e)
        {
            return Outcome<RestoreResult>.Fail(Failure.Validation, e.Message);
        }

        var target = request.Mode == RestoreModes.Clone ? Guid.NewGuid() : plan.Source.Id;
        var emails = NewEmails(plan, request, target);
        if (emails.Problem is { } invalid)
        {
            return Outcome<RestoreResult>.Fail(Failure.Validation, invalid);
        }

        if (request.Mode == RestoreModes.Replace)
        {
            await LiveGrains.ForgetAsync(grains, target);
        }

        Written written;
        try
        {
            written = await WriteAsync(plan, request, target, emails.Map, cancellationToken);
        }
        catch (RestoreRefusedException refused)
        {
            return new Outcome<RestoreResult>(null, refused.Failure, refused.Message, refused.Quota);
        }
        catch (PostgresException e) when (Refusal(e) is { } refusal)
        {
            return Outcome<RestoreResult>.Fail(refusal.Failure, refusal.Detail);
        }
        catch (BundleException e)
        {
            // A file changed between validation and writing (nothing was committed).
            return Outcome<RestoreResult>.Fail(Failure.Validation, e.Message);
        }

        await LiveGrains.ForgetAsync(grains, target);
        await grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(GrainKeys.SystemTenant)).AppendAsync(
            [new AuditDraft("tenant.restored", "tenant", target.ToString("D"), Details: written.Details)]);
        logger.LogWarning(
            "Restored tenant {TenantId} ({Mode}) from {Files} bundle(s): {Users} users, {Customers} customers, {Contacts} contacts, {Deals} deals, {Activities} activities, {Audit} audit entries",
            target, request.Mode, request.Files.Count, written.Users, written.Customers, written.Contacts, written.Deals, written.Activities, written.AuditLogs);
        return Outcome<RestoreResult>.Ok(new RestoreResult(written.Tenant, request.Mode, plan.Source.Id, request.BackupId, written.Users,
            written.Customers, written.Overrides, written.AuditLogs, written.AuditSeq, written.Contacts, written.Deals, written.Activities));
    }

    private async Task<Plan> ValidateAsync(RestoreRequest request, CancellationToken cancellationToken)
    {
        Plan? plan = null;
        for (var i = 0; i < request.Files.Count; i++)
        {
            var path = request.Files[i];
            var name = request.Files.Count == 1 ? "The bundle" : $"Bundle {i + 1} of {request.Files.Count} ({Path.GetFileName(path)})";
            try
            {
                var seal = request.ChecksumsVerified
                    ? await BundleChecksum.ReadSealAsync(path, cancellationToken)
                    : await BundleChecksum.VerifyFileAsync(path, cancellationToken);
                // Before anything else is read: an unsigned or edited bundle is refused for that, whatever else it holds.
                var signature = signer.Check(seal) is { } refused ? throw new BundleException(refused) : seal.Signature!;

                plan = ValidateFile(path, i, plan, request.ExpectedTenantId, plans.Value);
                plan = plan with { KeyIds = [.. plan.KeyIds.Append(signature.KeyId).Distinct()] };
            }
            catch (BundleException e) when (request.Files.Count > 1)
            {
                throw new BundleException($"{name}: {e.Message}");
            }
        }

        return plan!;
    }

    private static Plan ValidateFile(string path, int index, Plan? previous, Guid? expectedTenant, PlansOptions plans)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var bundle = new BundleReader(file);
        bundle.ReadHeader();
        if ((index == 0) != (bundle.Format == BundleFormat.Export))
        {
            throw new BundleException(index == 0
                ? $"format: a restore starts from a full export (\"{BundleFormat.Export}\"), not an increment."
                : $"format: only increments (\"{BundleFormat.Increment}\") may follow the full export.");
        }

        if (!bundle.Secrets)
        {
            throw new BundleException(
                "secrets: this export was made for data portability (by a tenant admin) and has no password hashes; only a super-admin's export can be restored.");
        }

        if (previous is not null && bundle.Version != previous.Version)
        {
            throw new BundleException(
                $"version: an increment of version {bundle.Version} cannot follow a bundle of version {previous.Version}; a backup chain has one version (the first backup after an upgrade is a full one).");
        }

        var tenant = bundle.ReadTenant();
        if (expectedTenant is { } expected && tenant.Id != expected)
        {
            throw new BundleException($"tenant.id: the bundle holds tenant {tenant.Id}, not tenant {expected} that this restore names (tenantId); a bundle restores only its own tenant (or a copy, as=new).");
        }

        if (tenant.Id == GrainKeys.SystemTenant || (previous is not null && tenant.Id != previous.Source.Id))
        {
            throw new BundleException($"tenant.id: {tenant.Id} is not the tenant this restore is for.");
        }

        var tenantProblem = !Statuses.Contains(tenant.Status) ? $"status: \"{tenant.Status}\" is not a tenant status"
            : Validation.Name(tenant.Name) is { } badName ? $"name: {badName}"
            : Validation.Email(tenant.ContactEmail) is { } badEmail ? $"contactEmail: {badEmail}"
            : !plans.ContainsKey(tenant.Plan) ? $"plan: \"{tenant.Plan}\" is not a plan of this server ({string.Join(", ", plans.Keys)})"
            : tenant.StatusReason is { Length: > MaxStatusReason } ? $"statusReason: at most {MaxStatusReason} characters"
            : null;
        if (tenantProblem is not null)
        {
            throw new BundleException($"tenant ({tenant.Id}): {tenantProblem}.");
        }

        var overrides = bundle.ReadOverrides().ToList();
        if (overrides.GroupBy(o => o.Quota, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new BundleException($"overrides: quota \"{twice.Key}\" is overridden twice.");
        }

        for (var i = 0; i < overrides.Count; i++)
        {
            var o = overrides[i];
            var problem = !QuotaNames.Overridable.Contains(o.Quota) ? $"quota: \"{o.Quota}\" is not one of {string.Join(", ", QuotaNames.Overridable)}"
                : o.Value < 0 ? "value: a quota override is a whole number ≥ 0"
                : o.Reason is { Length: > MaxReason } ? $"reason: at most {MaxReason} characters"
                : null;
            if (problem is not null)
            {
                throw new BundleException($"overrides[{i}] ({o.Quota}): {problem}.");
            }
        }

        var users = bundle.ReadUsers().ToList();
        var userIds = new HashSet<Guid>();
        var userEmails = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < users.Count; i++)
        {
            var u = users[i];
            var problem = !userIds.Add(u.Id) ? $"id {u.Id} appears twice"
                : Validation.Email(u.Email) is { } userEmail ? $"email: {userEmail}"
                : !userEmails.Add(Validation.NormalizeEmail(u.Email)) ? $"e-mail \"{u.Email}\" appears twice"
                : Validation.Name(u.Name) is { } userName ? $"name: {userName}"
                : !Roles.IsTenantRole(u.Role) ? $"role \"{u.Role}\" is not a tenant role (tenant_admin or member)"
                : u.FailedLogins < 0 ? "failedLogins: must not be negative"
                : PasswordHashing.CheckStored(u.PasswordHash) is { } badHash ? $"passwordHash: {badHash}"
                : null;
            if (problem is not null)
            {
                throw new BundleException($"users[{i}] ({u.Id}): {problem}.");
            }
        }

        // The custom-field definitions (the records' values are checked against them), customers, contacts (they refer to
        // customers), the pipeline, deals (they refer to all three), activities (they refer to customers, contacts and deals);
        // an increment's removals of a section follow its rows, and what a removal or a definitions change leaves behind is
        // checked once every section is read.
        var increment = bundle.Format == BundleFormat.Increment;
        var records = increment ? previous!.Records : new ChainRecords();
        var customFields = CheckCustomFields(bundle.ReadCustomFields());
        var redefined = records.Redefine(customFields);
        var known = new BundleIds(userIds, records.Customers, records.Contacts, records.Deals, records.Stages, customFields, increment);
        var customers = CheckRecords(bundle, RecordSections.Customers, known, records.Keep);
        var deletedCustomers = CheckDeleted(bundle, RecordSections.Customers, customers, records.Drop);
        var contacts = CheckRecords(bundle, RecordSections.Contacts, known, records.Link);
        var deletedContacts = CheckDeleted(bundle, RecordSections.Contacts, contacts, records.Unlink);
        var restaged = bundle.ReadPipeline() is { } pipeline ? records.Restage(CheckPipeline(pipeline)) : [];
        var deals = CheckRecords(bundle, RecordSections.Deals, known, records.Place);
        var deletedDeals = CheckDeleted(bundle, RecordSections.Deals, deals, records.Unplace);
        var activities = CheckRecords(bundle, RecordSections.Activities, known, records.Attach);
        var deletedActivities = CheckDeleted(bundle, RecordSections.Activities, activities, records.Detach);
        if (records.ContactReferringTo(deletedCustomers) is { } orphan)
        {
            throw new BundleException(
                $"{RecordSections.Customers.DeletedKey}: customer {orphan.Customer} is removed, but contact {orphan.Contact} still refers to it.");
        }

        if (records.DealReferringTo(deletedCustomers, d => [d.Customer]) is { } customerDeal)
        {
            throw new BundleException(
                $"{RecordSections.Customers.DeletedKey}: customer {customerDeal.Record} is removed, but deal {customerDeal.Deal} still refers to it.");
        }

        if (records.DealReferringTo(deletedContacts, d => d.Contacts) is { } contactDeal)
        {
            throw new BundleException(
                $"{RecordSections.Contacts.DeletedKey}: contact {contactDeal.Record} is removed, but deal {contactDeal.Deal} still refers to it.");
        }

        foreach (var (section, removed, references) in new (RecordSection, List<Guid>, Func<ActivityRefs, Guid?>)[]
        {
            (RecordSections.Customers, deletedCustomers, a => a.Customer),
            (RecordSections.Contacts, deletedContacts, a => a.Contact),
            (RecordSections.Deals, deletedDeals, a => a.Deal),
        })
        {
            if (records.ActivityReferringTo(removed, references) is { } activity)
            {
                throw new BundleException(
                    $"{section.DeletedKey}: {section.Type.Name} {activity.Record} is removed, but activity {activity.Activity} still refers to it.");
            }
        }

        if (records.ValueOutside(redefined) is { } stale)
        {
            throw new BundleException(
                $"customFields.{stale.RecordType}: {stale.Record} {stale.Id} still holds a value these definitions do not allow ({stale.Problem}); the bundle does not carry it again.");
        }

        if (records.DealOutsidePipeline(restaged) is { } stranded)
        {
            throw new BundleException(
                $"pipeline: stage {stranded.Stage} is removed or has another kind now, but deal {stranded.Deal} is still in it as {stranded.Status}.");
        }

        long seq;
        byte[] head;
        AuditCheckpoint? checkpoint = null;
        if (increment)
        {
            var since = bundle.Since!;
            if (since.AuditSeq != previous!.AuditSeq || !since.AuditHash.AsSpan().SequenceEqual(previous.AuditHash))
            {
                throw new BundleException(
                    $"since: continues from audit entry {since.AuditSeq}, but the bundle before it ends at entry {previous.AuditSeq} (or with another hash): the chain of backups is broken.");
            }

            (seq, head) = (since.AuditSeq, since.AuditHash);
        }
        else
        {
            checkpoint = bundle.ReadCheckpoint();
            (seq, head) = checkpoint is null ? (0L, AuditChain.Genesis) : (checkpoint.Seq, checkpoint.Hash);
        }

        long entries = 0;
        foreach (var entry in bundle.ReadAuditLogs(tenant.Id))
        {
            if (entry.Seq != seq + 1 || !entry.PrevHash.AsSpan().SequenceEqual(head))
            {
                throw new BundleException($"auditLogs[{entries}]: entry {entry.Seq} does not follow entry {seq}: the audit chain has a gap or was reordered.");
            }

            if (!AuditChain.Hash(entry, head).AsSpan().SequenceEqual(entry.Hash))
            {
                throw new BundleException($"auditLogs[{entries}]: entry {entry.Seq} does not match its hash: the audit chain was altered.");
            }

            (seq, head) = (entry.Seq, entry.Hash);
            entries++;
        }

        var counts = bundle.ReadCounts();
        var actual = new BundleCounts(users.Count, customers.Count, deletedCustomers.Count, contacts.Count, deletedContacts.Count, deals.Count, deletedDeals.Count,
            activities.Count, deletedActivities.Count, overrides.Count, entries);
        if (counts != actual)
        {
            throw new BundleException($"counts: the bundle states {Describe(counts)} but holds {Describe(actual)}.");
        }

        var checksum = bundle.ReadChecksum().Checksum;
        return new Plan(tenant, users, records, seq, head, bundle.ExportedAt, previous?.FirstChecksum ?? checksum, index + 1, previous?.KeyIds ?? [],
            bundle.Version);
    }

    /// <summary>Checks every row of a record section (ids unique, the API's rules, references, version) and returns their ids.</summary>
    private static HashSet<Guid> CheckRecords<T>(BundleReader bundle, RecordSection<T> section, BundleIds known, Action<T> accepted)
        where T : class, IRecordDetails
    {
        var ids = new HashSet<Guid>();
        var i = 0L;
        foreach (var row in bundle.ReadRecords(section))
        {
            var problem = !ids.Add(row.Id) ? $"id {row.Id} appears twice"
                : section.Check(row, known) is { } broken ? broken
                : row.Version < 1 ? "version must be positive"
                : null;
            if (problem is not null)
            {
                throw new BundleException($"{section.Key}[{i}] ({row.Id}): {problem}.");
            }

            accepted(row);
            i++;
        }

        return ids;
    }

    /// <summary>
    /// Each record type's definitions through the rules of <c>PUT /api/custom-fields/{type}</c>
    /// (<see cref="CustomFieldRules.CheckDefinitions"/>), named <c>customFields.{type}[i].{field}</c>.
    /// </summary>
    private static IReadOnlyDictionary<string, IReadOnlyList<CustomFieldDefinition>> CheckCustomFields(
        IReadOnlyDictionary<string, IReadOnlyList<CustomFieldDefinition>> definitions)
    {
        foreach (var (recordType, list) in definitions)
        {
            if (CustomFieldRules.CheckDefinitions([.. list], $"customFields.{recordType}").FirstOrDefault() is { Key: { } where, Value: { } rule })
            {
                throw new BundleException($"{where}: {rule}");
            }
        }

        return definitions;
    }

    /// <summary>
    /// The pipeline's own rules (as <c>PUT /api/pipeline/stages</c> applies them: 1 to 30 stages, names, kinds,
    /// probabilities, ids once, an open stage); an empty list is a tenant whose default stages were never created.
    /// </summary>
    private static IReadOnlyList<PipelineStage> CheckPipeline(IReadOnlyList<PipelineStage> stages)
    {
        if (stages.Count == 0)
        {
            return stages;
        }

        var inputs = stages.Select(s => (PipelineStageInput?)new PipelineStageInput(s.Id, s.Name, s.Kind, s.Probability)).ToList();
        if (DealRules.CheckStages(inputs, "pipeline", (i, field) => $"pipeline[{i}] ({stages[i].Id}): {field}").FirstOrDefault() is
            { Key: { } where, Value: { } rule })
        {
            throw new BundleException($"{where}: {rule}");
        }

        return stages;
    }

    /// <summary>An increment's removals of a record section (none in a full export); an id may not be both changed and removed.</summary>
    private static List<Guid> CheckDeleted(BundleReader bundle, RecordSection section, HashSet<Guid> changed, Action<Guid> accepted)
    {
        var deleted = new List<Guid>();
        foreach (var id in bundle.ReadDeleted(section))
        {
            if (changed.Contains(id))
            {
                throw new BundleException($"{section.DeletedKey}[{deleted.Count}]: {id} is also among the changed {section.Key}.");
            }

            accepted(id);
            deleted.Add(id);
        }

        return deleted;
    }

    private static string Describe(BundleCounts c) =>
        $"{c.Users} users, {c.Customers} customers, {c.DeletedCustomers} deleted customers, {c.Contacts} contacts, {c.DeletedContacts} deleted contacts, " +
        $"{c.Deals} deals, {c.DeletedDeals} deleted deals, {c.Activities} activities, {c.DeletedActivities} deleted activities, {c.Overrides} overrides, " +
        $"{c.AuditLogs} audit entries";

    /// <summary>A clone's e-mails: the given admin e-mails (in the order of the admins' creation), members' made unreachable.</summary>
    private static (Dictionary<Guid, string> Map, string? Problem) NewEmails(Plan plan, RestoreRequest request, Guid target)
    {
        var map = plan.Users.ToDictionary(u => u.Id, u => u.Email);
        if (request.Mode != RestoreModes.Clone)
        {
            return (map, null);
        }

        var admins = plan.Users.Where(u => u.Role == Roles.TenantAdmin).OrderBy(u => u.CreatedAt).ThenBy(u => u.Id).ToList();
        var given = request.AdminEmails ?? [];
        if (given.Count != admins.Count)
        {
            return (map, $"adminEmail: the bundle has {admins.Count} tenant admin(s) ({string.Join(", ", admins.Select(a => a.Email))}, oldest first); " +
                $"give exactly {admins.Count} new e-mail(s), in that order.");
        }

        if (given.Select(Validation.Email).FirstOrDefault(e => e is not null) is { } invalid)
        {
            return (map, $"adminEmail: {invalid}");
        }

        if (given.Select(Validation.NormalizeEmail).Distinct().Count() != given.Count)
        {
            return (map, "adminEmail: the new admin e-mails must differ from each other.");
        }

        foreach (var member in plan.Users.Where(u => u.Role != Roles.TenantAdmin))
        {
            map[member.Id] = $"{member.Id:N}@clone-{target:N}.invalid";
        }

        for (var i = 0; i < admins.Count; i++)
        {
            map[admins[i].Id] = given[i].Trim();
        }

        return (map, null);
    }

    private async Task<Written> WriteAsync(Plan plan, RestoreRequest request, Guid target, Dictionary<Guid, string> emails, CancellationToken cancellationToken)
    {
        var clone = request.Mode == RestoreModes.Clone;
        var now = time.Now();
        await using var transaction = await new TenantDatabase(dataSource).BeginAsync(target, cancellationToken);
        await transaction.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtextextended($1, 6))", "restore/" + target.ToString("D"));
        string? existing;
        await using (var read = transaction.Command("SELECT status FROM tenants WHERE id = $1 FOR UPDATE", target))
        {
            existing = await read.ExecuteScalarAsync(cancellationToken) as string;
        }

        IReadOnlyDictionary<string, long>? replaced = null;
        long orphans = 0;
        if (existing is not null)
        {
            if (request.Mode != RestoreModes.Replace)
            {
                throw new RestoreRefusedException(Failure.Conflict,
                    $"Tenant {target} exists. Restore over it with ?mode=replace (it must not be active), or make a sandbox copy with ?as=new.");
            }

            if (existing == "active")
            {
                throw new RestoreRefusedException(Failure.Conflict,
                    $"Tenant {target} is active: suspend or cancel it before replacing its data, so no one writes while it is replaced.");
            }

            replaced = await TenantPurge.DeleteTenantRowsAsync(transaction, target, maintenance);
        }
        else
        {
            // Entries a purged tenant's still-valid tokens left behind (denied requests) would collide with the restored chain.
            await maintenance.AllowPurgeAsync(transaction, target);
            await using var purge = transaction.Command("SELECT audit_purge_tenant()");
            orphans = (long)(await purge.ExecuteScalarAsync(cancellationToken))!;
        }

        await transaction.ExecuteAsync("DELETE FROM tenant_quota_overrides WHERE tenant_id = $1", target);

        TenantRow? last = null;
        for (var i = 0; i < request.Files.Count; i++)
        {
            last = await WriteFileAsync(transaction, request.Files[i], target, clone ? request.CloneName ?? "" : null, emails, now, cancellationToken);
        }

        string? retentionExtendedFrom = null;
        if (!clone && last!.Status is "canceled" or "deleted" && last.RetentionUntil is { } until && until <= now)
        {
            // A restore is deliberate: the retention purge must not take the tenant again at its next run.
            var extended = now.AddDays(Math.Max(1, tenantOptions.Value.RetentionDays));
            retentionExtendedFrom = BundleFormat.Time(until);
            await transaction.ExecuteAsync("UPDATE tenants SET retention_until = $2, updated_at = $3 WHERE id = $1", target, extended, now);
        }

        var quotas = await QuotasAsync(transaction, target, last!.Plan, now, cancellationToken);
        var over = quotas.Where(q => q.Used > q.Limit).ToList();
        if (over.Count > 0 && !request.IgnoreQuotas)
        {
            throw new RestoreRefusedException(Failure.QuotaExceeded,
                $"The restored tenant would exceed plan \"{last.Plan}\": {string.Join(", ", over.Select(q => $"{q.Quota} {q.Used} of {q.Limit}"))} " +
                $"(usage: {string.Join(", ", quotas.Select(q => $"{q.Quota} {q.Used} of {q.Limit}"))}). Nothing was written. Raise the plan or its quotas first, " +
                "or restore with ignoreQuotas=true (recorded in the audit log).",
                new Reservation(Guid.Empty, false, over[0].Quota, over[0].Limit, over[0].Used));
        }

        var caller = Caller.Current;
        var (ip, userAgent, requestId) = Caller.Origin;
        var (seq, head) = clone ? (0L, AuditChain.Genesis) : (plan.AuditSeq, plan.AuditHash);
        var details = AuditChain.Details(new
        {
            mode = request.Mode,
            backupId = request.BackupId,
            source = new
            {
                tenantId = plan.Source.Id,
                exportedAt = BundleFormat.Time(plan.ExportedAt),
                checksum = plan.FirstChecksum,
                bundles = plan.Bundles,
                auditSeq = plan.AuditSeq,
                auditHash = BundleFormat.Hex(plan.AuditHash),
            },
            signedBy = plan.KeyIds,
            ignoreQuotas = request.IgnoreQuotas ? true : (bool?)null,
            quotasExceeded = over.Count > 0 ? over.ToDictionary(q => q.Quota, q => new { used = q.Used, limit = q.Limit }) : null,
            replacedRows = replaced,
            orphanAuditEntriesRemoved = orphans > 0 ? orphans : (long?)null,
            retentionExtendedFrom,
        });
        var entry = new AuditEntry(Guid.NewGuid(), target, seq + 1, now,
            new AuditActor(caller is null || caller.UserId == Guid.Empty ? null : caller.UserId, caller?.Email, caller?.Role ?? Roles.System),
            "tenant.restored", "tenant", target.ToString("D"), AuditOutcomes.Success, ip, userAgent, requestId, details, head, []);
        entry = entry with { Hash = AuditChain.Hash(entry, head) };
        await InsertAuditAsync(transaction, target, [entry], cancellationToken);

        TenantDetails tenant;
        await using (var read = transaction.Command(
            "SELECT id, name, contact_email, plan, status, status_reason, created_at, status_changed_at, retention_until FROM tenants WHERE id = $1", target))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            tenant = TenantGrain.ReadTenant(reader);
        }

        long users, customers, contacts, deals, activities, overrides, audit;
        await using (var count = transaction.Command(
            """
            SELECT (SELECT count(*) FROM users WHERE tenant_id = $1), (SELECT count(*) FROM customers WHERE tenant_id = $1),
                   (SELECT count(*) FROM contacts WHERE tenant_id = $1), (SELECT count(*) FROM deals WHERE tenant_id = $1),
                   (SELECT count(*) FROM activities WHERE tenant_id = $1),
                   (SELECT count(*) FROM tenant_quota_overrides WHERE tenant_id = $1), (SELECT count(*) FROM audit_logs WHERE tenant_id = $1)
            """,
            target))
        await using (var reader = await count.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            (users, customers, contacts, deals, activities, overrides, audit) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2),
                reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
        }

        // Past this point the restore happened: a client that hangs up must not leave a commit of unknown outcome.
        await transaction.CommitAsync(CancellationToken.None);
        return new Written(tenant, users, customers, contacts, deals, activities, overrides, audit, entry.Seq, details);
    }

    /// <summary>The counted quotas as restored (the meter's rules: rows, and their text plus a fixed overhead as storage), against the plan and live overrides.</summary>
    private async Task<List<QuotaUse>> QuotasAsync(TenantTransaction transaction, Guid target, string planName, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var plan = plans.Value.GetValueOrDefault(planName) ?? new PlanLimits();
        var limits = new Dictionary<string, long>(StringComparer.Ordinal)
        {
            [QuotaNames.Users] = plan.Users,
            [QuotaNames.Customers] = plan.Customers,
            [QuotaNames.StorageBytes] = plan.StorageBytes,
        };
        await using (var read = transaction.Command(
            "SELECT quota, value FROM tenant_quota_overrides WHERE tenant_id = $1 AND (expires_at IS NULL OR expires_at > $2)", target, now))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                if (limits.ContainsKey(reader.GetString(0)))
                {
                    limits[reader.GetString(0)] = reader.GetInt64(1);
                }
            }
        }

        await using var count = transaction.Command(
            $"""
            SELECT (SELECT count(*) FROM users WHERE tenant_id = $1),
                   (SELECT count(*) FROM customers WHERE tenant_id = $1),
                   {TenantMeter.RecordBytesSql("$1")}
                 + (SELECT coalesce(sum({TenantMeter.RecordOverhead} + octet_length(email) + octet_length(name)), 0)::bigint FROM users WHERE tenant_id = $1)
            """,
            target);
        await using var counts = await count.ExecuteReaderAsync(cancellationToken);
        await counts.ReadAsync(cancellationToken);
        return
        [
            new(QuotaNames.Users, counts.GetInt64(0), limits[QuotaNames.Users]),
            new(QuotaNames.Customers, counts.GetInt64(1), limits[QuotaNames.Customers]),
            new(QuotaNames.StorageBytes, counts.GetInt64(2), limits[QuotaNames.StorageBytes]),
        ];
    }

    private async Task<TenantRow> WriteFileAsync(
        TenantTransaction transaction, string path, Guid target, string? cloneName, Dictionary<Guid, string> emails, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var clone = cloneName is not null;
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var bundle = new BundleReader(file);
        bundle.ReadHeader();
        var increment = bundle.Format == BundleFormat.Increment;
        var source = bundle.ReadTenant();
        var tenant = clone
            ? source with { Id = target, Name = cloneName is { Length: > 0 } ? cloneName : CloneName(source.Name), Status = "active", StatusReason = null, CreatedAt = now, StatusChangedAt = now, RetentionUntil = null, UpdatedAt = now }
            : source;
        await transaction.ExecuteAsync(
            """
            INSERT INTO tenants (id, name, contact_email, plan, status, status_reason, created_at, status_changed_at, retention_until, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, contact_email = excluded.contact_email, plan = excluded.plan, status = excluded.status,
                status_reason = excluded.status_reason, created_at = excluded.created_at, status_changed_at = excluded.status_changed_at,
                retention_until = excluded.retention_until, updated_at = excluded.updated_at
            """,
            tenant.Id, tenant.Name, tenant.ContactEmail, tenant.Plan, tenant.Status, tenant.StatusReason, tenant.CreatedAt, tenant.StatusChangedAt,
            tenant.RetentionUntil, tenant.UpdatedAt);

        var overrides = bundle.ReadOverrides().ToList();
        await transaction.ExecuteAsync("DELETE FROM tenant_quota_overrides WHERE tenant_id = $1", target);
        await transaction.ExecuteAsync(
            """
            INSERT INTO tenant_quota_overrides (tenant_id, quota, value, expires_at, reason, created_at)
            SELECT $1, r.* FROM unnest($2::text[], $3::bigint[], $4::timestamptz[], $5::text[], $6::timestamptz[]) AS r
            """,
            target, overrides.Select(o => o.Quota).ToArray(), overrides.Select(o => o.Value).ToArray(), overrides.Select(o => o.ExpiresAt).ToArray(),
            overrides.Select(o => o.Reason).ToArray(), overrides.Select(o => o.CreatedAt).ToArray());

        var users = bundle.ReadUsers().ToList();
        // A clone's members are kept (customers name them as owners) but cannot sign in: their e-mails belong to the source tenant.
        var members = clone ? users.Where(u => u.Role != Roles.TenantAdmin).Select(u => u.Id).ToHashSet() : [];
        await transaction.ExecuteAsync(
            """
            INSERT INTO users (tenant_id, id, email, name, role, password_hash, disabled, failed_logins, locked_until, created_at, updated_at)
            SELECT $1, r.* FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::integer[],
                                       $9::timestamptz[], $10::timestamptz[], $11::timestamptz[]) AS r
            ON CONFLICT (tenant_id, id) DO UPDATE SET email = excluded.email, name = excluded.name, role = excluded.role,
                password_hash = excluded.password_hash, disabled = excluded.disabled, failed_logins = excluded.failed_logins,
                locked_until = excluded.locked_until, created_at = excluded.created_at, updated_at = excluded.updated_at
            """,
            target, users.Select(u => u.Id).ToArray(), users.Select(u => emails.GetValueOrDefault(u.Id) ?? (clone ? $"{u.Id:N}@clone-{target:N}.invalid" : u.Email)).ToArray(), users.Select(u => u.Name).ToArray(),
            users.Select(u => u.Role).ToArray(), users.Select(u => u.PasswordHash).ToArray(), users.Select(u => u.Disabled || members.Contains(u.Id)).ToArray(),
            users.Select(u => u.FailedLogins).ToArray(), users.Select(u => u.LockedUntil).ToArray(), users.Select(u => u.CreatedAt).ToArray(),
            users.Select(u => u.UpdatedAt).ToArray());
        if (increment)
        {
            await transaction.ExecuteAsync("DELETE FROM users WHERE tenant_id = $1 AND id <> ALL($2)", target, users.Select(u => u.Id).ToArray());
        }

        // The custom-field definitions replace the tenant's (every bundle carries the whole lists), before the values they govern.
        await WriteCustomFieldsAsync(transaction, target, bundle.ReadCustomFields());

        // What is referred to is written before what refers to it (customers, contacts, stages, deals, activities) and removed
        // after it (an increment's removed activities, then its removed deals, the stages no longer in the pipeline, contacts,
        // customers).
        await UpsertAsync(transaction, bundle, RecordSections.Customers, target, cancellationToken);
        var deletedCustomers = bundle.ReadDeleted(RecordSections.Customers).ToList();
        await UpsertAsync(transaction, bundle, RecordSections.Contacts, target, cancellationToken);
        var deletedContacts = bundle.ReadDeleted(RecordSections.Contacts).ToList();
        var pipeline = bundle.ReadPipeline();
        if (pipeline is not null)
        {
            await WriteStagesAsync(transaction, target, pipeline);
        }

        await UpsertAsync(transaction, bundle, RecordSections.Deals, target, cancellationToken);
        var deletedDeals = bundle.ReadDeleted(RecordSections.Deals).ToList();
        await UpsertAsync(transaction, bundle, RecordSections.Activities, target, cancellationToken);
        await DeleteAsync(transaction, RecordSections.Activities, bundle.ReadDeleted(RecordSections.Activities), target);
        await DeleteAsync(transaction, RecordSections.Deals, deletedDeals, target);
        if (pipeline is not null)
        {
            await transaction.ExecuteAsync("DELETE FROM pipeline_stages WHERE tenant_id = $1 AND id <> ALL($2)", target, pipeline.Select(s => s.Id).ToArray());
        }

        await DeleteAsync(transaction, RecordSections.Contacts, deletedContacts, target);
        await DeleteAsync(transaction, RecordSections.Customers, deletedCustomers, target);
        if (!increment && bundle.ReadCheckpoint() is { } checkpoint && !clone)
        {
            // The owner vouches for the checkpoint of the export validated above; the runtime role alone cannot start a chain.
            await maintenance.AllowCheckpointAsync(transaction, target, checkpoint.Seq, checkpoint.Hash);
            await transaction.ExecuteAsync("SELECT audit_restore_checkpoint($1, $2)", checkpoint.Seq, checkpoint.Hash);
        }

        // A clone starts a chain of its own (the entries hash the source tenant's id); its first entry names the source.
        foreach (var batch in bundle.ReadAuditLogs(source.Id).Chunk(BatchRows))
        {
            if (!clone)
            {
                await InsertAuditAsync(transaction, target, batch, cancellationToken);
            }
        }

        bundle.ReadCounts();
        bundle.ReadChecksum();
        return tenant;
    }

    private static string CloneName(string name)
    {
        var copy = name + " (copy)";
        return copy.Length <= Validation.MaxNameLength ? copy : copy[..Validation.MaxNameLength];
    }

    private static async Task UpsertAsync<T>(TenantTransaction transaction, BundleReader bundle, RecordSection<T> section, Guid target,
        CancellationToken cancellationToken)
        where T : class, IRecordDetails
    {
        foreach (var batch in bundle.ReadRecords(section).Chunk(BatchRows))
        {
            await section.UpsertAsync(transaction, target, batch, cancellationToken);
        }
    }

    /// <summary>The bundle's custom-field definitions in place of the tenant's (position = order); none before version 4.</summary>
    private static async Task WriteCustomFieldsAsync(TenantTransaction transaction, Guid target,
        IReadOnlyDictionary<string, IReadOnlyList<CustomFieldDefinition>> definitions)
    {
        await transaction.ExecuteAsync("DELETE FROM custom_field_definitions WHERE tenant_id = $1", target);
        var rows = CustomFieldRecordTypes.All.SelectMany(t => definitions[t].Select((field, position) => (RecordType: t, Position: position, Field: field))).ToArray();
        if (rows.Length == 0)
        {
            return;
        }

        await transaction.ExecuteAsync(
            """
            INSERT INTO custom_field_definitions (tenant_id, record_type, key, position, label, type, options, required)
            SELECT $1, r.record_type, r.key, r.position, r.label, r.type, r.options::text[], r.required
            FROM unnest($2::text[], $3::text[], $4::integer[], $5::text[], $6::text[], $7::text[], $8::boolean[])
                AS r(record_type, key, position, label, type, options, required)
            """,
            target, rows.Select(r => r.RecordType).ToArray(), rows.Select(r => r.Field.Key).ToArray(), rows.Select(r => r.Position).ToArray(),
            rows.Select(r => r.Field.Label).ToArray(), rows.Select(r => r.Field.Type).ToArray(),
            rows.Select(r => BundleFormat.TagsLiteral(r.Field.Options)).ToArray(), rows.Select(r => r.Field.Required).ToArray());
    }

    /// <summary>
    /// Writes the bundle's stages over the tenant's (position = order). A stage whose kind changes held no deals when it
    /// changed, so a deal the tenant still has there with the old kind moved since the previous bundle, and this one
    /// carries it again or its removal (validation made sure). The deals' stage key would refuse the change while it is
    /// there, and activities may refer to it (so it cannot be removed and written again): it waits in a stage of its old
    /// kind that is in no pipeline, which the deals' upsert moves it out of and the removal of stages not in the bundle's
    /// pipeline then removes.
    /// </summary>
    private static async Task WriteStagesAsync(TenantTransaction transaction, Guid target, IReadOnlyList<PipelineStage> stages)
    {
        var ids = stages.Select(s => s.Id).ToArray();
        var kinds = stages.Select(s => s.Kind).ToArray();
        await transaction.ExecuteAsync(
            """
            WITH rekinded AS (
                SELECT p.id, p.kind, gen_random_uuid() AS waiting
                FROM pipeline_stages p JOIN unnest($2::uuid[], $3::text[]) AS s(id, kind) ON s.id = p.id AND s.kind <> p.kind
                WHERE p.tenant_id = $1 AND EXISTS (SELECT 1 FROM deals d WHERE d.tenant_id = $1 AND d.stage_id = p.id)
            ), waiting AS (
                INSERT INTO pipeline_stages (tenant_id, id, position, name, kind, probability)
                SELECT $1, r.waiting, 0, 'Restore: waiting for the bundle''s deals', r.kind, 0 FROM rekinded r
            )
            UPDATE deals d SET stage_id = r.waiting FROM rekinded r WHERE d.tenant_id = $1 AND d.stage_id = r.id
            """,
            target, ids, kinds);
        await transaction.ExecuteAsync(
            """
            INSERT INTO pipeline_stages (tenant_id, id, position, name, kind, probability)
            SELECT $1, s.id, s.position, s.name, s.kind, s.probability
            FROM unnest($2::uuid[], $3::integer[], $4::text[], $5::text[], $6::integer[]) AS s(id, position, name, kind, probability)
            ON CONFLICT (tenant_id, id) DO UPDATE SET position = excluded.position, name = excluded.name, kind = excluded.kind,
                probability = excluded.probability
            """,
            target, ids, stages.Select((_, i) => i).ToArray(), stages.Select(s => s.Name).ToArray(), kinds, stages.Select(s => s.Probability).ToArray());
    }

    private static async Task DeleteAsync(TenantTransaction transaction, RecordSection section, IEnumerable<Guid> ids, Guid target)
    {
        foreach (var batch in ids.Chunk(BatchRows))
        {
            await transaction.ExecuteAsync($"DELETE FROM {section.Type.Table} WHERE tenant_id = $1 AND id = ANY($2)", target, batch);
        }
    }

    private static async Task InsertAuditAsync(TenantTransaction transaction, Guid target, AuditEntry[] rows, CancellationToken cancellationToken)
    {
        // In seq order: the continuity trigger checks each entry against the one before it.
        await using var insert = transaction.Command(
            """
            INSERT INTO audit_logs (tenant_id, seq, id, created_at, actor_id, actor_email, actor_role, action, target_type, target_id,
                                    outcome, ip, user_agent, request_id, details, prev_hash, hash)
            SELECT $1, r.seq, r.id, r.at, r.actor_id, r.actor_email, r.actor_role, r.action, r.target_type, r.target_id,
                   r.outcome, r.ip, r.user_agent, r.request_id, r.details, r.prev_hash, r.hash
            FROM unnest($2::bigint[], $3::uuid[], $4::timestamptz[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                        $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::bytea[], $17::bytea[])
                WITH ORDINALITY AS r(seq, id, at, actor_id, actor_email, actor_role, action, target_type, target_id,
                                     outcome, ip, user_agent, request_id, details, prev_hash, hash, ord)
            ORDER BY r.ord
            """,
            target, rows.Select(e => e.Seq).ToArray(), rows.Select(e => e.Id).ToArray(), rows.Select(e => e.At).ToArray(),
            rows.Select(e => e.Actor.Id).ToArray(), rows.Select(e => e.Actor.Email).ToArray(), rows.Select(e => e.Actor.Role).ToArray(),
            rows.Select(e => e.Action).ToArray(), rows.Select(e => e.TargetType).ToArray(), rows.Select(e => e.TargetId).ToArray(),
            rows.Select(e => e.Outcome).ToArray(), rows.Select(e => e.Ip).ToArray(), rows.Select(e => e.UserAgent).ToArray(),
            rows.Select(e => e.RequestId).ToArray(), rows.Select(e => e.Details).ToArray(), rows.Select(e => e.PrevHash).ToArray(),
            rows.Select(e => e.Hash).ToArray());
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    private static (Failure Failure, string Detail)? Refusal(PostgresException e) => e.SqlState switch
    {
        PostgresErrorCodes.UniqueViolation when e.ConstraintName == "users_tenant_email_key" =>
            (Failure.DuplicateEmail, "Two users of the restored tenant would share an e-mail address (e-mails are unique per tenant)."),
        PostgresErrorCodes.UniqueViolation when e.ConstraintName == "audit_logs_pkey" =>
            (Failure.Conflict, "The tenant's audit log changed while it was being restored; nothing was written, try again."),
        PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.ForeignKeyViolation or PostgresErrorCodes.CheckViolation or PostgresErrorCodes.NotNullViolation =>
            (Failure.Validation, $"The database refused the bundle's rows ({e.ConstraintName ?? e.SqlState})."),
        _ when e.SqlState.StartsWith("22", StringComparison.Ordinal) =>
            (Failure.Validation, $"The database refused a value in the bundle ({e.SqlState})."),
        _ => null,
    };

    private sealed record Plan(
        TenantRow Source, IReadOnlyList<UserRow> Users, ChainRecords Records, long AuditSeq, byte[] AuditHash, DateTimeOffset ExportedAt, string FirstChecksum,
        int Bundles, IReadOnlyList<string> KeyIds, long Version);

    /// <summary>
    /// What the restored tenant holds after the bundles validated so far (a full export, then each increment's rows and
    /// removals): its customers, contacts and deals, each linked contact's customer, its stages, each deal's and each
    /// activity's references, the custom-field definitions and every record's values (those it has). What a row refers to
    /// and what a removal or a definitions change leaves behind are checked against it, so a broken reference or a value
    /// without its field is refused by name rather than by the database's foreign key or not at all.
    /// </summary>
    private sealed class ChainRecords
    {
        private readonly Dictionary<Guid, Guid> _customerOf = [];
        private readonly Dictionary<Guid, DealRefs> _deals = [];
        private readonly Dictionary<Guid, ActivityRefs> _activities = [];
        private readonly Dictionary<Guid, string> _stages = [];
        private readonly Dictionary<string, Dictionary<Guid, string>> _values =
            CustomFieldRecordTypes.All.ToDictionary(t => t, _ => new Dictionary<Guid, string>(), StringComparer.Ordinal);

        private IReadOnlyDictionary<string, IReadOnlyList<CustomFieldDefinition>>? _definitions;

        public HashSet<Guid> Customers { get; } = [];

        public HashSet<Guid> Contacts { get; } = [];

        /// <summary>The deals' ids (what activities may refer to); the keys of the deals' references.</summary>
        public HashSet<Guid> Deals { get; } = [];

        /// <summary>The last pipeline read, stage id → kind.</summary>
        public IReadOnlyDictionary<Guid, string> Stages => _stages;

        public void Keep(CustomerDetails customer)
        {
            Customers.Add(customer.Id);
            Hold(CustomFieldRecordTypes.Customers, customer.Id, customer.CustomFields);
        }

        public void Drop(Guid customer)
        {
            Customers.Remove(customer);
            _values[CustomFieldRecordTypes.Customers].Remove(customer);
        }

        /// <summary>
        /// Takes a bundle's custom-field definitions; returns the record types whose fields changed in what a value must
        /// fit (a key, a type or a select's options) since the previous bundle: values earlier bundles left there are checked
        /// again (<see cref="ValueOutside"/>). None for the first bundle, whose records are all checked as they are read.
        /// </summary>
        public HashSet<string> Redefine(IReadOnlyDictionary<string, IReadOnlyList<CustomFieldDefinition>> definitions)
        {
            var previous = _definitions;
            _definitions = definitions;
            return previous is null ? [] : [.. CustomFieldRecordTypes.All.Where(t => !SameShape(previous[t], definitions[t]))];
        }

        /// <summary>A record of a <paramref name="redefined"/> type whose values the current definitions no longer allow, if any.</summary>
        public (string RecordType, string Record, Guid Id, string Problem)? ValueOutside(IReadOnlySet<string> redefined)
        {
            foreach (var recordType in redefined)
            {
                var definitions = BundleIds.Stored(_definitions![recordType]);
                foreach (var (id, values) in _values[recordType])
                {
                    if (CustomFieldRules.Check(values, definitions) is { } problem)
                    {
                        return (recordType, RecordNames[recordType], id, problem);
                    }
                }
            }

            return null;
        }

        public void Link(ContactDetails contact)
        {
            Hold(CustomFieldRecordTypes.Contacts, contact.Id, contact.CustomFields);
            Contacts.Add(contact.Id);
            if (contact.CustomerId is { } customer)
            {
                _customerOf[contact.Id] = customer;
            }
            else
            {
                _customerOf.Remove(contact.Id);
            }
        }

        public void Unlink(Guid contact)
        {
            _values[CustomFieldRecordTypes.Contacts].Remove(contact);
            Contacts.Remove(contact);
            _customerOf.Remove(contact);
        }

        /// <summary>Takes a bundle's whole pipeline; returns the stages that went or changed kind (deals may be stranded in them).</summary>
        public HashSet<Guid> Restage(IReadOnlyList<PipelineStage> stages)
        {
            var next = stages.ToDictionary(s => s.Id, s => s.Kind);
            var changed = _stages.Where(s => !next.TryGetValue(s.Key, out var kind) || kind != s.Value).Select(s => s.Key).ToHashSet();
            _stages.Clear();
            foreach (var (id, kind) in next)
            {
                _stages[id] = kind;
            }

            return changed;
        }

        public void Place(DealDetails deal)
        {
            Hold(CustomFieldRecordTypes.Deals, deal.Id, deal.CustomFields);
            Deals.Add(deal.Id);
            _deals[deal.Id] = new DealRefs(deal.CustomerId, deal.ContactIds, deal.StageId, deal.Status);
        }

        public void Unplace(Guid deal)
        {
            _values[CustomFieldRecordTypes.Deals].Remove(deal);
            Deals.Remove(deal);
            _deals.Remove(deal);
        }

        public void Attach(ActivityDetails activity) => _activities[activity.Id] = new ActivityRefs(activity.CustomerId, activity.ContactId, activity.DealId);

        public void Detach(Guid activity) => _activities.Remove(activity);

        /// <summary>A contact that still refers to one of the removed customers, if any.</summary>
        public (Guid Contact, Guid Customer)? ContactReferringTo(IReadOnlyCollection<Guid> removedCustomers)
        {
            if (removedCustomers.Count == 0)
            {
                return null;
            }

            var removed = removedCustomers.ToHashSet();
            foreach (var (contact, customer) in _customerOf)
            {
                if (removed.Contains(customer))
                {
                    return (contact, customer);
                }
            }

            return null;
        }

        /// <summary>A deal that still refers (through <paramref name="references"/>) to one of the removed records, if any.</summary>
        public (Guid Deal, Guid Record)? DealReferringTo(IReadOnlyCollection<Guid> removedRecords, Func<DealRefs, IEnumerable<Guid>> references) =>
            Referring(_deals, removedRecords, references);

        /// <summary>An activity that still refers (through <paramref name="reference"/>) to one of the removed records, if any.</summary>
        public (Guid Activity, Guid Record)? ActivityReferringTo(IReadOnlyCollection<Guid> removedRecords, Func<ActivityRefs, Guid?> reference) =>
            Referring(_activities, removedRecords, refs => reference(refs) is { } record ? [record] : []);

        private static (Guid Referrer, Guid Record)? Referring<TRefs>(
            Dictionary<Guid, TRefs> referrers, IReadOnlyCollection<Guid> removedRecords, Func<TRefs, IEnumerable<Guid>> references)
        {
            if (removedRecords.Count == 0)
            {
                return null;
            }

            var removed = removedRecords.ToHashSet();
            foreach (var (referrer, refs) in referrers)
            {
                foreach (var record in references(refs))
                {
                    if (removed.Contains(record))
                    {
                        return (referrer, record);
                    }
                }
            }

            return null;
        }

        /// <summary>What a record type's singular is in messages.</summary>
        private static readonly Dictionary<string, string> RecordNames = new(StringComparer.Ordinal)
        {
            [CustomFieldRecordTypes.Customers] = RecordSections.Customers.Type.Name,
            [CustomFieldRecordTypes.Contacts] = RecordSections.Contacts.Type.Name,
            [CustomFieldRecordTypes.Deals] = RecordSections.Deals.Type.Name,
        };

        /// <summary>Whether two definition lists allow the same values (labels, order and required do not change that).</summary>
        private static bool SameShape(IReadOnlyList<CustomFieldDefinition> before, IReadOnlyList<CustomFieldDefinition> after)
        {
            var next = after.ToDictionary(d => d.Key, StringComparer.Ordinal);
            return before.Count == after.Count && before.All(d => next.TryGetValue(d.Key, out var field) && field.Type == d.Type
                && field.Options.ToHashSet(StringComparer.Ordinal).SetEquals(d.Options));
        }

        /// <summary>Keeps a record's values (only those it has: most records have none) for a later definitions change.</summary>
        private void Hold(string recordType, Guid id, string values)
        {
            if (values == CustomFieldRules.Empty)
            {
                _values[recordType].Remove(id);
            }
            else
            {
                _values[recordType][id] = values;
            }
        }

        /// <summary>A deal left in a stage that is gone or has another kind now (a changed deal's own stage was checked with it).</summary>
        public (Guid Deal, Guid Stage, string Status)? DealOutsidePipeline(IReadOnlySet<Guid> restaged)
        {
            if (restaged.Count == 0)
            {
                return null;
            }

            foreach (var (deal, refs) in _deals)
            {
                if (restaged.Contains(refs.Stage) && (!_stages.TryGetValue(refs.Stage, out var kind) || kind != refs.Status))
                {
                    return (deal, refs.Stage, refs.Status);
                }
            }

            return null;
        }
    }

    private sealed record DealRefs(Guid Customer, IReadOnlyList<Guid> Contacts, Guid Stage, string Status);

    private sealed record ActivityRefs(Guid? Customer, Guid? Contact, Guid? Deal);

    private sealed record Written(
        TenantDetails Tenant, long Users, long Customers, long Contacts, long Deals, long Activities, long Overrides, long AuditLogs, long AuditSeq,
        string? Details);

    private sealed class RestoreRefusedException(Failure failure, string message, Reservation? quota = null) : Exception(message)
    {
        public Failure Failure => failure;

        public Reservation? Quota => quota;
    }

    private sealed record QuotaUse(string Quota, long Used, long Limit);
}
