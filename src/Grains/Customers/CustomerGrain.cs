using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Security;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Quotas;

namespace Shohayota.Grains.Customers;

/// <summary>
/// The single writer of one customer's row. Every change is one transaction; memory is updated only after
/// it commits, so the grain's view and the table never diverge. The row is read on first need, not on activation: a
/// create of a new id reads nothing (an existing row makes its insert fail on the primary key, and is read then).
/// </summary>
[GrainType("customer")]
public sealed class CustomerGrain(TenantDatabase database, TimeProvider time, IOptions<BenchmarkOptions> benchmark, CallerSigner signer) : Grain, ICustomerGrain
{
    internal const string Columns = "id, name, email, phone, company, status, tags, notes, owner_user_id, created_at, updated_at, version";

    /// <summary>The refusal <c>expect_rows_changed</c> (sql/0095) reports when the row no longer has the version this grain holds.</summary>
    internal const string VersionConflict = "customers_version";

    private const string Exists = "customers_pkey";

    // Benchmark-only switch (bench S8): measures what the audit log costs. Never turn it on in production.
    private readonly bool _auditOff = benchmark.Value.AuditOff;

    private Guid _tenantId;
    private Guid _id;
    private CustomerDetails? _customer;
    private bool _loaded;
    private Task? _loading;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenantId, _id) = GrainKeys.Split(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    /// <summary>The row, in one round trip (the tenant setting and the select as one batch).</summary>
    private async Task LoadAsync()
    {
        _customer = await database.ReadAsync(
            _tenantId,
            TenantDatabase.Statement($"SELECT {Columns} FROM customers WHERE id = $1", _id),
            async reader => await reader.ReadAsync() ? Read(reader) : null);
        _loaded = true;
    }

    /// <summary>
    /// The first read of a cold grain loads the row; reads are interleaved (<c>[ReadOnly]</c>), so the ones that arrive
    /// while it loads wait for that same load instead of each reading the row again. No write runs meanwhile.
    /// </summary>
    private async Task<CustomerDetails?> CurrentAsync()
    {
        if (!_loaded)
        {
            var loading = _loading ??= LoadAsync();
            try
            {
                await loading;
            }
            finally
            {
                if (ReferenceEquals(_loading, loading))
                {
                    _loading = null;
                }
            }
        }

        return _customer;
    }

    public Task<CustomerDetails?> GetAsync() => _loaded ? Task.FromResult(_customer) : CurrentAsync();

    public Task ForgetAsync()
    {
        (_customer, _loaded) = (null, true);
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public async Task<Outcome<CustomerDetails>> CreateAsync(CustomerFields fields)
    {
        if (_loaded && _customer is not null)
        {
            return AlreadyExists();
        }

        if (CustomerRules.FirstError(fields) is { } invalid)
        {
            return Outcome<CustomerDetails>.Fail(Failure.Validation, invalid);
        }

        var now = time.Now();
        var created = ToDetails(fields, now, now, 1);
        return await WriteAsync(created, new QuotaDelta(1, 0, Bytes(created)), AuditChain.Details(Snapshot(created)), AuditExtensions.Sql(
            """
            INSERT INTO customers (tenant_id, id, name, email, phone, company, status, tags, notes, owner_user_id, created_at, updated_at, version)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1)
            """,
            _tenantId, _id, fields.Name, fields.Email, fields.Phone, fields.Company, fields.Status, fields.Tags.ToArray(), fields.Notes,
            fields.OwnerUserId, now), "customer.created");
    }

    public async Task<Outcome<CustomerDetails>> CreateOnceAsync(CustomerFields fields)
    {
        if (!_loaded && CustomerRules.FirstError(fields) is not null)
        {
            // A retry with fields that are invalid now may still name the customer its first request created.
            await LoadAsync();
        }

        var outcome = _loaded && _customer is not null ? AlreadyExists() : await CreateAsync(fields);
        return outcome.Failure != Failure.Conflict || _customer is not { } existing ? outcome
            : Same(existing, fields) ? Outcome<CustomerDetails>.Ok(existing)
            : Outcome<CustomerDetails>.Fail(Failure.IdempotencyMismatch,
                "This Idempotency-Key already created a customer with other fields (or that customer has changed since).");
    }

    private static Outcome<CustomerDetails> AlreadyExists() => Outcome<CustomerDetails>.Fail(Failure.Conflict, "This customer already exists.");

    private static bool Same(CustomerDetails c, CustomerFields f) =>
        c.Name == f.Name && c.Email == f.Email && c.Phone == f.Phone && c.Company == f.Company && c.Status == f.Status &&
        c.Tags.SequenceEqual(f.Tags) && c.Notes == f.Notes && c.OwnerUserId == f.OwnerUserId;

    public async Task<Outcome<CustomerDetails>> UpdateAsync(CustomerFields fields, int? expectedVersion)
    {
        if (await CurrentAsync() is not { } current)
        {
            return Outcome<CustomerDetails>.Fail(Failure.NotFound, "No such customer.");
        }

        if (expectedVersion is { } expected && expected != current.Version)
        {
            return Outcome<CustomerDetails>.Fail(Failure.PreconditionFailed,
                $"The customer has changed (version {current.Version}, you sent {expected}); reload it and apply your change again.");
        }

        if (CustomerRules.FirstError(fields) is { } invalid)
        {
            return Outcome<CustomerDetails>.Fail(Failure.Validation, invalid);
        }

        var now = time.Now();
        var updated = ToDetails(fields, current.CreatedAt, now, current.Version + 1);
        var changes = AuditChain.Changes(Snapshot(current), Snapshot(updated));
        // Only the version this grain read may be replaced: another writer of the row (a duplicate activation) makes it a conflict.
        return await WriteAsync(updated, new QuotaDelta(0, 0, Bytes(updated) - Bytes(current)), AuditChain.Details(new { version = updated.Version, changes }), AuditExtensions.Sql(
            $"""
            WITH changed AS (
                UPDATE customers SET name = $3, email = $4, phone = $5, company = $6, status = $7, tags = $8, notes = $9,
                    owner_user_id = $10, updated_at = $11, version = $12
                WHERE tenant_id = $1 AND id = $2 AND version = $13
                RETURNING 1)
            SELECT expect_rows_changed((SELECT count(*) FROM changed), '{VersionConflict}')
            """,
            _tenantId, _id, fields.Name, fields.Email, fields.Phone, fields.Company, fields.Status, fields.Tags.ToArray(), fields.Notes,
            fields.OwnerUserId, now, updated.Version, current.Version), "customer.updated", expectedVersion);
    }

    public async Task<Outcome<bool>> DeleteAsync(int? expectedVersion)
    {
        if (await CurrentAsync() is not { } current)
        {
            return Outcome<bool>.Fail(Failure.NotFound, "No such customer.");
        }

        if (expectedVersion is { } expected && expected != current.Version)
        {
            return Outcome<bool>.Fail(Failure.PreconditionFailed, $"The customer has changed (version {current.Version}, you sent {expected}).");
        }

        var result = await ExecuteAsync(AuditExtensions.Change(
            [AuditExtensions.Sql(
                $"""
                WITH deleted AS (DELETE FROM customers WHERE tenant_id = $1 AND id = $2 AND version = $3 RETURNING 1)
                SELECT expect_rows_changed((SELECT count(*) FROM deleted), '{VersionConflict}')
                """,
                _tenantId, _id, current.Version)],
            new QuotaDelta(-1, 0, -Bytes(current)),
            new AuditDraft("customer.deleted", "customer", _id.ToString("D"), Details: AuditChain.Details(new { name = current.Name, version = current.Version }))));
        if (result.Constraint == VersionConflict)
        {
            return await ConflictAsync<bool>(expectedVersion);
        }

        if (!result.Committed)
        {
            throw new InvalidOperationException($"Deleting the customer was refused by the database ({result.SqlState}).");
        }

        _customer = null;
        DeactivateOnIdle();
        return Outcome<bool>.Ok(true);
    }

    /// <summary>
    /// Through the tenant's audit log, which reserves the change's growth with its batch and settles it after the commit;
    /// with the benchmark-only switch, the same statements and quota without entries.
    /// </summary>
    private Task<ChangeResult> ExecuteAsync(AuditedChange change) =>
        _auditOff ? AuditLogGrain.ExecuteUnauditedAsync(database, GrainFactory, signer, _tenantId, change) : GrainFactory.AuditLog(_tenantId).ExecuteAsync(change);

    private static long Bytes(CustomerDetails c) => TenantMeter.CustomerBytes(c.Name, c.Email, c.Phone, c.Company, c.Tags, c.Notes);

    private async Task<Outcome<CustomerDetails>> WriteAsync(
        CustomerDetails next, QuotaDelta delta, string? details, SqlStatement write, string action, int? expectedVersion = null)
    {
        var result = await ExecuteAsync(AuditExtensions.Change([write], delta, new AuditDraft(action, "customer", _id.ToString("D"), Details: details)));
        if (result.QuotaRefusal is { } refused)
        {
            if (!_loaded)
            {
                // A create on a fresh activation did not read the row: at the limit, a retry of a create that already
                // happened (Idempotency-Key) is refused by the quota before the insert could conflict. It exists: say so.
                await LoadAsync();
                if (_customer is not null)
                {
                    return AlreadyExists();
                }
            }

            return Outcome<CustomerDetails>.QuotaExceeded(refused);
        }

        if (result.Constraint == Exists)
        {
            await LoadAsync();
            return AlreadyExists();
        }

        if (result.Constraint == VersionConflict)
        {
            return await ConflictAsync<CustomerDetails>(expectedVersion);
        }

        if (!result.Committed)
        {
            return result.SqlState == PostgresErrorCodes.ForeignKeyViolation
                ? Outcome<CustomerDetails>.Fail(Failure.Validation, "ownerUserId is not a user of this tenant.")
                : throw new InvalidOperationException($"The customer change was refused by the database ({result.SqlState}).");
        }

        (_customer, _loaded) = (next, true);
        return Outcome<CustomerDetails>.Ok(next);
    }

    /// <summary>
    /// The row was changed by another writer since this grain read it: nothing was written or audited. Reload, so this
    /// activation stops serving (and writing over) the stale version, and tell the client to reload too.
    /// </summary>
    private async Task<Outcome<T>> ConflictAsync<T>(int? expectedVersion)
    {
        await LoadAsync();
        var now = _customer is null ? "it has been deleted" : $"it is at version {_customer.Version} now";
        return expectedVersion is null
            ? Outcome<T>.Fail(Failure.Conflict, $"The customer was changed by another request at the same time ({now}); reload it and apply your change again.")
            : Outcome<T>.Fail(Failure.PreconditionFailed, $"The customer has changed ({now}, you sent {expectedVersion}); reload it and apply your change again.");
    }

    private static Dictionary<string, object?> Snapshot(CustomerDetails c) => new(StringComparer.Ordinal)
    {
        ["name"] = c.Name,
        ["email"] = c.Email,
        ["phone"] = c.Phone,
        ["company"] = c.Company,
        ["status"] = c.Status,
        ["tags"] = c.Tags,
        ["notes"] = c.Notes,
        ["ownerUserId"] = c.OwnerUserId,
    };

    private CustomerDetails ToDetails(CustomerFields f, DateTimeOffset createdAt, DateTimeOffset updatedAt, int version) =>
        new(_id, f.Name, f.Email, f.Phone, f.Company, f.Status, f.Tags, f.Notes, f.OwnerUserId, createdAt, updatedAt, version);

    internal static CustomerDetails Read(NpgsqlDataReader r) => new(
        r.GetGuid(0),
        r.GetString(1),
        r.IsDBNull(2) ? null : r.GetString(2),
        r.IsDBNull(3) ? null : r.GetString(3),
        r.IsDBNull(4) ? null : r.GetString(4),
        r.GetString(5),
        r.GetFieldValue<string[]>(6),
        r.IsDBNull(7) ? null : r.GetString(7),
        r.IsDBNull(8) ? null : r.GetGuid(8),
        r.GetFieldValue<DateTimeOffset>(9),
        r.GetFieldValue<DateTimeOffset>(10),
        r.GetInt32(11));
}
