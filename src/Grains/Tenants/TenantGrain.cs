using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Quotas;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Interfaces.Users;
using Shohayota.Grains.Users;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Tenants;

[GrainType("tenant")]
public sealed class TenantGrain(
    TenantDatabase database,
    TimeProvider time,
    IOptions<TenantOptions> options,
    IOptions<PlansOptions> plans,
    IOptions<MeteringOptions> metering,
    IOptions<AuthOptions> auth,
    CallerSigner signer,
    ILogger<TenantGrain> logger) : Grain, ITenantGrain, IIncomingGrainCallFilter
{
    private static readonly TimeSpan SystemCopyRetry = TimeSpan.FromSeconds(5);

    // How long a change waits for the nodes holding leases to drop them (a node's lease lasts 1 s by default).
    private static readonly TimeSpan RevocationWait = TimeSpan.FromSeconds(1);

    // How long after its expiry a node's lease is kept for its report (a live node reports within a lease duration).
    private static readonly TimeSpan LeaseGrace = TimeSpan.FromSeconds(10);

    private TenantMeter? _meter;
    private IGrainTimer? _flushTimer;
    private bool _flushIdle;
    private IGrainTimer? _systemCopyTimer;
    private readonly List<SystemCopy> _systemCopies = [];
    private readonly HashSet<Guid> _disabledUsers = [];
    private readonly Dictionary<Guid, NodeLease> _leases = [];
    private readonly List<Task> _revocations = [];
    private long _rulesVersion = Random.Shared.NextInt64(1, long.MaxValue / 2);
    private TenantDetails? _tenant;
    private Guid _id;

    private bool IsSystem => _id == GrainKeys.SystemTenant;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _id = GrainKeys.TenantOf(this.GetPrimaryKeyString()) ?? throw new InvalidOperationException("Malformed tenant key.");
        // One round trip (a cold tenant's first request waits for it): the tenant's row, its disabled users, and its
        // meter's starting usage (read for nothing when there is no such tenant: every count is then zero rows).
        var (month, seenSince) = TenantMeter.LoadWindow(time.GetUtcNow());
        var stored = await database.ReadAsync(
            _id,
            [
                TenantDatabase.Statement(
                    "SELECT id, name, contact_email, plan, status, status_reason, created_at, status_changed_at, retention_until FROM tenants WHERE id = $1",
                    _id),
                TenantDatabase.Statement("SELECT id FROM users WHERE disabled"),
                .. UsageStore.LoadStatements(month, seenSince),
            ],
            async reader =>
            {
                _tenant = await reader.ReadAsync(cancellationToken) && !IsSystem ? ReadTenant(reader) : null;
                await reader.NextResultAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    _disabledUsers.Add(reader.GetGuid(0));
                }

                await reader.NextResultAsync(cancellationToken);
                return await UsageStore.ReadLoadedAsync(reader, _id, _tenant?.Name, cancellationToken);
            },
            cancellationToken: cancellationToken);

        if (_tenant is not null)
        {
            var meter = NewMeter();
            meter.Start(_tenant, month, stored);
            StartMeter(meter);
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (await CopyPendingAsync() is { } failed)
        {
            // The entries stay in the tenant's own log; only their copies in the system log are missing.
            logger.LogError(failed, "Gave up copying {Count} audit entries of tenant {TenantId} to the system log on deactivation", _systemCopies.Count, _id);
        }

        if (_meter is not null)
        {
            try
            {
                await _meter.FlushAsync();
            }
            catch (NpgsqlException e)
            {
                logger.LogWarning(e, "Could not write the usage of tenant {TenantId} on deactivation", _id);
            }
        }
    }

    private async Task StartMeterAsync(CancellationToken cancellationToken = default)
    {
        var meter = NewMeter();
        await meter.LoadAsync(_tenant!, cancellationToken);
        StartMeter(meter);
    }

    private TenantMeter NewMeter() => new(_id, database, time, plans.Value, metering.Value, logger);

    private void StartMeter(TenantMeter meter)
    {
        _meter = meter;
        // A timer, not a reminder: write-behind only matters while the grain is active; it flushes on deactivation too.
        _flushTimer ??= this.RegisterGrainTimer(async _ =>
        {
            _meter?.Tick();
            PruneLeases(System.Diagnostics.Stopwatch.GetTimestamp());
            if (_meter is not null)
            {
                await _meter.FlushAsync();
                if (!_flushIdle && _leases.Count == 0 && _meter.Quiet(time.GetUtcNow()))
                {
                    // Quiet until the next call (see Invoke): look again rarely instead of every flush interval.
                    _flushIdle = true;
                    _flushTimer?.Change(metering.Value.IdleFlushInterval, metering.Value.IdleFlushInterval);
                }
            }
        }, new GrainTimerCreationOptions(metering.Value.FlushInterval, metering.Value.FlushInterval) { Interleave = false });
    }

    /// <summary>Every call into the tenant may change its usage: a quiet grain's flush timer goes back to the flush interval.</summary>
    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (_flushIdle)
        {
            _flushIdle = false;
            _flushTimer?.Change(metering.Value.FlushInterval, metering.Value.FlushInterval);
        }

        return context.Invoke();
    }

    public Task<TenantDetails?> GetAsync() => Task.FromResult(_tenant);

    public Task<Admission> AdmitAsync(Guid userId, bool write) => Task.FromResult(Decide(userId, write, meter: true));

    public Task<Admission> CheckAsync(Guid userId, bool write) => Task.FromResult(Decide(userId, write, meter: false));

    private Admission Decide(Guid userId, bool write, bool meter)
    {
        if (_disabledUsers.Contains(userId))
        {
            return new Admission(false, Failure.UserDisabled, "This user account is disabled.");
        }

        return StatusRefusal(write) ?? (IsSystem ? Admission.Granted : Metered(userId, meter));
    }

    /// <summary>The refusal the tenant's status gives a read or a write; null when it is admitted (metered) by status.</summary>
    private Admission? StatusRefusal(bool write) => IsSystem ? null : _tenant?.Status switch
    {
        null => new Admission(false, Failure.TenantDeleted, "This tenant no longer exists."),
        TenantStatus.Active => null,
        TenantStatus.Suspended => new Admission(false, Failure.TenantSuspended, "This tenant is suspended; contact your operator."),
        TenantStatus.Deleted => new Admission(false, Failure.TenantDeleted, "This tenant has been deleted."),
        TenantStatus.Canceled when write => new Admission(false, Failure.TenantCanceled,
            $"This tenant is canceled: its data can be read and exported until {_tenant.RetentionUntil:O}, not changed."),
        TenantStatus.Canceled => null,
        _ => new Admission(false, Failure.Forbidden, "Not admitted."),
    };

    public Task<AdmissionLease> LeaseAsync(AdmissionLeaseRequest request)
    {
        // Leases mint admissions for every user of the tenant: only a node (the system caller it signs) asks for them.
        SystemOnly("Only a front end of the cluster leases admissions.");

        // Lease expiry is on this process's monotonic clock, like the node's: it bounds staleness, it is not business time.
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        PruneLeases(now);
        var duration = request.Duration < TimeSpan.FromMilliseconds(10) || request.Duration > TimeSpan.FromMinutes(10) ? TimeSpan.FromSeconds(1) : request.Duration;
        if (_leases.Remove(request.NodeId, out var previous))
        {
            // Tokens of the earlier lease the node still holds (not reported spent or given back) stay held in this one.
            previous.Held = Math.Max(0, previous.Held - Math.Max(0, request.Used) - Math.Max(0, request.Unused));
        }

        // A report for a lease this activation does not know (granted before a restart or pruned) only brings users seen.
        _meter?.Return(previous is null ? 0 : Math.Max(0, request.Used), previous is null ? 0 : Math.Max(0, request.Unused), previous?.Month ?? default, request.Seen);

        var rules = request.KnownVersion == _rulesVersion ? null : new AdmissionRules(
            StatusRefusal(write: false), StatusRefusal(write: true), [.. _disabledUsers], Unmetered: IsSystem || _meter is null);
        if (request.Want <= 0)
        {
            // The node ends its lease: its unspent admissions are back, nothing is held for it any more.
            if (previous is { Held: > 0 })
            {
                _meter?.Forget(previous.Held);
            }

            return Task.FromResult(new AdmissionLease(_rulesVersion, rules, 0, null));
        }

        var lease = previous ?? new NodeLease { Month = _meter?.Month ?? default };
        lease.Observer = request.Observer;
        lease.ExpiresAt = now + (long)((duration + LeaseGrace).TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        _leases[request.NodeId] = lease;
        if (IsSystem || _meter is null || StatusRefusal(write: false) is not null)
        {
            return Task.FromResult(new AdmissionLease(_rulesVersion, rules, 0, null));
        }

        var (granted, refusal) = _meter.Lease(Math.Min(request.Want, _meter.NodeShare - (int)Math.Min(lease.Held, int.MaxValue)));
        if (granted > 0 && lease.Month != _meter.Month)
        {
            // Earlier tokens of a lease from last month are still held; its calls were counted in that month.
            lease.Month = _meter.Month;
        }

        lease.Held += granted;
        var heldElsewhere = false;
        if (refusal is { Failure: Failure.QuotaExceeded })
        {
            foreach (var (node, other) in _leases)
            {
                if (node != request.NodeId && other.Held > 0)
                {
                    // The last calls of the month are on another node's lease: it gives back what it did not spend.
                    heldElsewhere = true;
                    other.Observer?.RevokeAsync(_id).Ignore();
                }
            }
        }

        return Task.FromResult(new AdmissionLease(_rulesVersion, rules, granted, refusal, heldElsewhere));
    }

    /// <summary>The rules changed (status, users, plan, overrides, reset): every node holding a lease drops it now; expiry bounds a lost push.</summary>
    private void RevokeLeases()
    {
        _rulesVersion++;
        PruneLeases(System.Diagnostics.Stopwatch.GetTimestamp());
        foreach (var lease in _leases.Values)
        {
            if (lease.Observer is { } observer)
            {
                _revocations.Add(observer.RevokeAsync(_id));
            }
        }
    }

    /// <summary>
    /// Waits until the nodes told by <see cref="RevokeLeases"/> have dropped their leases, so a change answers after every
    /// live node enforces it (a reactivated tenant is admitted by the next request, a suspended one refused). A dead or
    /// slow node holds the change up for at most <see cref="RevocationWait"/>: by then its lease has expired anyway.
    /// </summary>
    private async Task RevokedAsync()
    {
        if (_revocations.Count == 0)
        {
            return;
        }

        var all = Task.WhenAll(_revocations);
        _revocations.Clear();
        if (await Task.WhenAny(all, Task.Delay(RevocationWait)) != all || all.IsFaulted)
        {
            _ = all.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            logger.LogWarning("Not every node confirmed dropping tenant {TenantId}'s admission lease; their leases expire on their own", _id);
        }
    }

    /// <summary>Leases of nodes that stopped renewing (died, or lost their report) are forgotten: no observer or held token leaks.</summary>
    private void PruneLeases(long now)
    {
        if (_leases.Count == 0)
        {
            return;
        }

        foreach (var (node, lease) in _leases.Where(l => l.Value.ExpiresAt <= now).ToList())
        {
            _leases.Remove(node);
            _meter?.Forget(lease.Held);
        }
    }

    private sealed class NodeLease
    {
        public IAdmissionObserver? Observer { get; set; }

        public long Held { get; set; }

        public DateOnly Month { get; set; }

        public long ExpiresAt { get; set; }
    }

    private Admission Metered(Guid userId, bool meter) => meter && _meter is not null ? _meter.Admit(userId) : Admission.Granted;

    public Task UserStatusChangedAsync(Guid userId, bool disabled)
    {
        // Admission refuses disabled users from this set: only the user's own grain (as the system) changes it, after the
        // change committed, so no caller can re-admit a disabled user by calling here.
        SystemOnly("Only the user's grain reports a change of its status.");
        if (disabled)
        {
            _disabledUsers.Add(userId);
        }
        else
        {
            _disabledUsers.Remove(userId);
        }

        RevokeLeases();
        return RevokedAsync();
    }

    public Task ReloadAsync()
    {
        if (SuperAdminOnly<bool>("reload a tenant") is { } refused)
        {
            throw new TenantAccessDeniedException(refused.Failure, refused.Detail!);
        }

        RevokeLeases();
        DeactivateOnIdle();
        return RevokedAsync();
    }

    public async Task<Outcome<ProvisionedTenant>> ProvisionAsync(ProvisionTenantRequest request)
    {
        if (SuperAdminOnly<ProvisionedTenant>("provision tenants") is { } refused)
        {
            return refused;
        }

        if (IsSystem)
        {
            return Outcome<ProvisionedTenant>.Fail(Failure.Conflict, "The system tenant is reserved.");
        }

        if (_tenant is not null)
        {
            return Outcome<ProvisionedTenant>.Fail(Failure.Conflict, "A tenant with this id already exists.");
        }

        var invalid = Validation.Name(request.Name) ?? Validation.Email(request.ContactEmail) ?? Validation.Name(request.AdminName)
            ?? Validation.Email(request.AdminEmail) ?? PasswordHashing.Validate(request.AdminPassword, request.AdminEmail)
            ?? (plans.Value.ContainsKey(request.Plan) ? null : "Unknown plan.");
        if (invalid is not null)
        {
            return Outcome<ProvisionedTenant>.Fail(Failure.Validation, invalid);
        }

        var now = time.Now();
        var tenant = new TenantDetails(_id, request.Name.Trim(), request.ContactEmail.Trim(), request.Plan, TenantStatus.Active, null, now, now, null);
        var adminId = Guid.NewGuid();
        var adminEmail = request.AdminEmail.Trim();
        var hash = PasswordHashing.Hash(request.AdminPassword, auth.Value.PasswordHashIterations);
        var details = AuditChain.Details(new { name = tenant.Name, contactEmail = tenant.ContactEmail, plan = tenant.Plan, adminEmail });
        var result = await GrainFactory.AuditLog(_id).ExecuteAsync(AuditExtensions.Change(
            [
                AuditExtensions.Sql(
                    """
                    INSERT INTO tenants (id, name, contact_email, plan, status, created_at, status_changed_at, updated_at)
                    VALUES ($1, $2, $3, $4, 'active', $5, $5, $5)
                    """,
                    _id, tenant.Name, tenant.ContactEmail, tenant.Plan, now),
                AuditExtensions.Sql(
                    """
                    INSERT INTO users (tenant_id, id, email, name, role, password_hash, created_at, updated_at)
                    VALUES ($1, $2, $3, $4, 'tenant_admin', $5, $6, $6)
                    """,
                    _id, adminId, adminEmail, request.AdminName.Trim(), hash, now),
            ],
            new AuditDraft("tenant.provisioned", "tenant", _id.ToString("D"), Details: details),
            new AuditDraft("user.created", "user", adminId.ToString("D"), Details: AuditChain.Details(new { email = adminEmail, role = Roles.TenantAdmin }))));
        if (!result.Committed)
        {
            return result.Constraint switch
            {
                "tenants_pkey" => Outcome<ProvisionedTenant>.Fail(Failure.Conflict, "A tenant with this id already exists."),
                _ => throw new InvalidOperationException($"Provisioning was refused by the database ({result.SqlState})."),
            };
        }

        _tenant = tenant;
        await StartMeterAsync();
        await CopyToSystemLogAsync(new AuditDraft("tenant.provisioned", "tenant", _id.ToString("D"), Details: details));
        logger.LogInformation("Provisioned tenant {TenantId} on plan {Plan}", _id, tenant.Plan);
        return Outcome<ProvisionedTenant>.Ok(new ProvisionedTenant(tenant, adminId, adminEmail));
    }

    public Task<Outcome<TenantDetails>> SuspendAsync(string? reason) => TransitionAsync(
        "suspend",
        status => status switch
        {
            TenantStatus.Active => TenantStatus.Suspended,
            TenantStatus.Suspended => status,
            _ => null,
        },
        reason,
        keepsRetention: false);

    public Task<Outcome<TenantDetails>> ReactivateAsync()
    {
        if (_tenant is { Status: TenantStatus.Canceled or TenantStatus.Deleted, RetentionUntil: { } until } && time.Now() >= until)
        {
            return Task.FromResult(Outcome<TenantDetails>.Fail(
                Failure.TransitionNotAllowed, $"The tenant's retention period ended at {until:O}; it can no longer be reactivated."));
        }

        return TransitionAsync("reactivate", _ => TenantStatus.Active, null, keepsRetention: false);
    }

    public Task<Outcome<TenantDetails>> CancelAsync() => TransitionAsync(
        "cancel",
        status => status switch
        {
            TenantStatus.Active or TenantStatus.Suspended or TenantStatus.Canceled => TenantStatus.Canceled,
            _ => null,
        },
        null,
        keepsRetention: true);

    public async Task<Outcome<TenantDetails>> DeleteAsync(bool hardDelete, bool force)
    {
        if (!hardDelete)
        {
            return await TransitionAsync("delete", _ => TenantStatus.Deleted, null, keepsRetention: true);
        }

        if (SuperAdminOnly<TenantDetails>("delete tenants") is { } refused)
        {
            return refused;
        }

        if (_tenant is null)
        {
            return Outcome<TenantDetails>.Fail(Failure.NotFound, "No such tenant.");
        }

        if (!force)
        {
            if (_tenant.RetentionUntil is not { } until || _tenant.Status is TenantStatus.Active or TenantStatus.Suspended)
            {
                return Outcome<TenantDetails>.Fail(Failure.RetentionNotElapsed,
                    $"The tenant is {_tenant.Status.ToWire()}; cancel or soft-delete it first and wait for its retention period, or pass \"force\": true.");
            }

            if (time.Now() < until)
            {
                return Outcome<TenantDetails>.Fail(Failure.RetentionNotElapsed,
                    $"The tenant is kept until {until:O}; a hard delete is possible from then on, or now with \"force\": true.");
            }
        }

        var purged = _tenant;
        await PurgeAsync(purged);
        return Outcome<TenantDetails>.Ok(purged);
    }

    private async Task PurgeAsync(TenantDetails purged)
    {
        var users = new List<Guid>();
        IReadOnlyDictionary<string, long> removed;
        await using (var transaction = await database.BeginAsync(_id))
        {
            await using (var read = transaction.Command("SELECT id FROM users"))
            await using (var reader = await read.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    users.Add(reader.GetGuid(0));
                }
            }

            foreach (var deactivate in users.Select(u => GrainFactory.GetGrain<IUserGrain>(GrainKeys.User(_id, u)).ForgetAsync()))
            {
                await deactivate;
            }

            removed = await TenantPurge.DeleteTenantRowsAsync(transaction, _id, ServiceProvider.GetRequiredService<AuditMaintenance>());
            await transaction.CommitAsync();
        }

        await Backups.LiveGrains.ForgetAccessAsync(GrainFactory, _id);

        _tenant = null;
        _meter = null;
        _flushTimer?.Dispose();
        _flushTimer = null;
        _flushIdle = false;
        _disabledUsers.Clear();
        RevokeLeases();
        DeactivateOnIdle();
        await RevokedAsync();
        await GrainFactory.AuditLog(_id).ForgetAsync();
        await CopyToSystemLogAsync(new AuditDraft(
            "tenant.purged", "tenant", _id.ToString("D"), Details: AuditChain.Details(new { name = purged.Name, rowsRemoved = removed })));
        await Backups.DeletionCertificates.ForPurgeAsync(ServiceProvider, GrainFactory, purged, removed);
        logger.LogWarning("Hard-deleted tenant {TenantId} ({Users} users)", _id, users.Count);
    }

    private async Task<Outcome<TenantDetails>> TransitionAsync(
        string action, Func<TenantStatus, TenantStatus?> next, string? reason, bool keepsRetention)
    {
        if (SuperAdminOnly<TenantDetails>("change a tenant's status") is { } refused)
        {
            return refused;
        }

        if (_tenant is null)
        {
            return Outcome<TenantDetails>.Fail(Failure.NotFound, "No such tenant.");
        }

        if (next(_tenant.Status) is not { } target)
        {
            return Outcome<TenantDetails>.Fail(Failure.TransitionNotAllowed,
                $"A {_tenant.Status.ToWire()} tenant cannot {action}.");
        }

        if (target == _tenant.Status)
        {
            return Outcome<TenantDetails>.Ok(_tenant);
        }

        var now = time.Now();
        var retention = target switch
        {
            TenantStatus.Canceled or TenantStatus.Deleted when keepsRetention =>
                _tenant.RetentionUntil ?? now.AddDays(options.Value.RetentionDays),
            _ => (DateTimeOffset?)null,
        };
        var updated = _tenant with
        {
            Status = target,
            StatusReason = target == TenantStatus.Suspended ? reason : null,
            StatusChangedAt = now,
            RetentionUntil = retention,
        };
        var entry = new AuditDraft($"tenant.{Past(action)}", "tenant", _id.ToString("D"), Details: AuditChain.Details(new
        {
            from = _tenant.Status.ToWire(),
            to = target.ToWire(),
            reason,
            retentionUntil = retention,
        }));
        await ChangeAsync(
            "The tenant's status change",
            [
                AuditExtensions.Sql(
                    "UPDATE tenants SET status = $2, status_reason = $3, status_changed_at = $4, retention_until = $5, updated_at = $4 WHERE id = $1",
                    _id, target.ToWire(), updated.StatusReason, now, retention),
            ],
            entry,
            () =>
            {
                // From here on the tenant is admitted (or refused) by its new status, whatever comes next.
                _tenant = updated;
                RevokeLeases();
                logger.LogInformation("Tenant {TenantId} is now {Status}", _id, target.ToWire());
            });
        return Outcome<TenantDetails>.Ok(updated);
    }

    public Task<Reservation> ReserveAsync(QuotaDelta delta)
    {
        // A reservation holds the tenant's room until settled: only the benchmark's audit-off write path (as the system) reserves.
        SystemOnly("Only the node's write path reserves quota.");
        return Task.FromResult(_meter?.Reserve(delta) ?? Unmetered);
    }

    public Task<IReadOnlyList<Reservation>> SettleAndReserveAsync(QuotaSettlement settled, IReadOnlyList<QuotaDelta> growth)
    {
        // A settlement rewrites the tenant's counted usage: only the tenant's audit log (as the system caller) settles.
        SystemOnly("Only the tenant's audit log settles quota reservations.");
        return Task.FromResult(_meter?.SettleAndReserve(settled, growth) ?? [.. growth.Select(_ => Unmetered)]);
    }

    private static void SystemOnly(string refusal)
    {
        if (Caller.Current is not { Role: Roles.System })
        {
            throw new TenantAccessDeniedException(Failure.Forbidden, refusal);
        }
    }

    /// <summary>No meter: the system tenant writes without quotas; a missing tenant writes nothing.</summary>
    private Reservation Unmetered => new(Guid.Empty, IsSystem, _tenant is null ? "tenant" : null, 0, 0);

    public Task SettleAsync(Guid reservationId, bool committed)
    {
        SystemOnly("Only the node's write path settles quota reservations.");
        _meter?.Settle(reservationId, committed);
        return Task.CompletedTask;
    }

    public Task AdjustAsync(QuotaDelta delta)
    {
        // A forged shrink would floor the counted usage at zero and lift every quota.
        SystemOnly("Only the node's write path adjusts the counted usage.");
        _meter?.Apply(delta);
        return Task.CompletedTask;
    }

    public Task<QuotaReport?> GetQuotasAsync() => Task.FromResult(_meter?.Report());

    public async Task<UsageReport?> GetUsageAsync() => _meter is null ? null : _meter.Usage(await _meter.HistoryAsync());

    public Task<IReadOnlyList<Alert>> GetAlertsAsync() => Task.FromResult(_meter?.Alerts ?? []);

    public async Task SetAlertAsync(string metric, string? message)
    {
        SystemOnly("Only the system opens or clears alerts of its own.");
        if (_meter is not null)
        {
            _meter.SetAlert(metric, message);
            await _meter.FlushAsync();
        }
    }

    public Task ReportTrafficAsync(TrafficSample sample)
    {
        // The samples feed the day's 4xx/5xx counters, the latency gauge and the error-rate alerts: only a node's reporter.
        SystemOnly("Only a node reports traffic.");
        _meter?.Record(sample);
        return Task.CompletedTask;
    }

    public Task FlushAsync()
    {
        SystemOnly("Only the node flushes a tenant's usage.");
        return _meter?.FlushAsync() ?? Task.CompletedTask;
    }

    public async Task<Outcome<QuotaReport>> SetPlanAsync(string plan)
    {
        if (SuperAdminOnly<QuotaReport>("change a tenant's plan") is { } refused)
        {
            return refused;
        }

        if (_tenant is null || _meter is null)
        {
            return Outcome<QuotaReport>.Fail(Failure.NotFound, "No such tenant.");
        }

        if (!plans.Value.ContainsKey(plan))
        {
            return Outcome<QuotaReport>.Fail(Failure.Validation, $"Plan must be one of: {string.Join(", ", plans.Value.Keys)}.");
        }

        if (plan != _tenant.Plan)
        {
            var entry = new AuditDraft("tenant.plan_changed", "tenant", _id.ToString("D"), Details: AuditChain.Details(new { from = _tenant.Plan, to = plan }));
            var meter = _meter;
            await ChangeAsync("The plan change", [AuditExtensions.Sql("UPDATE tenants SET plan = $2, updated_at = $3 WHERE id = $1", _id, plan, time.Now())], entry, () =>
            {
                _tenant = _tenant with { Plan = plan };
                meter.PlanChanged(plan);
                RevokeLeases();
            });
        }

        return Outcome<QuotaReport>.Ok(_meter.Report());
    }

    public async Task<Outcome<QuotaReport>> SetOverridesAsync(OverrideChange change)
    {
        if (SuperAdminOnly<QuotaReport>("override quotas") is { } refused)
        {
            return refused;
        }

        if (_tenant is null || _meter is null)
        {
            return Outcome<QuotaReport>.Fail(Failure.NotFound, "No such tenant.");
        }

        var now = time.Now();
        var statements = new List<SqlStatement>();
        var applied = new Dictionary<string, QuotaOverride?>(StringComparer.Ordinal);
        foreach (var (quota, value) in change.Values)
        {
            if (value is { } v)
            {
                statements.Add(AuditExtensions.Sql(
                    """
                    INSERT INTO tenant_quota_overrides (tenant_id, quota, value, expires_at, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (tenant_id, quota) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
                        reason = excluded.reason, created_at = excluded.created_at
                    """,
                    _id, quota, v, change.ExpiresAt, change.Reason, now));
                applied[quota] = new QuotaOverride(quota, v, change.ExpiresAt, change.Reason);
            }
            else
            {
                statements.Add(AuditExtensions.Sql("DELETE FROM tenant_quota_overrides WHERE tenant_id = $1 AND quota = $2", _id, quota));
                applied[quota] = null;
            }
        }

        var entry = new AuditDraft("tenant.quota_overridden", "tenant", _id.ToString("D"), Details: AuditChain.Details(new
        {
            values = change.Values,
            before = change.Values.Keys.ToDictionary(k => k, k => _meter.Override(k)?.Value),
            expiresAt = change.ExpiresAt,
            reason = change.Reason,
        }));
        var meter = _meter;
        await ChangeAsync("The quota override", [.. statements], entry, () =>
        {
            foreach (var (quota, value) in applied)
            {
                meter.SetOverride(quota, value);
            }

            RevokeLeases();
        });

        return Outcome<QuotaReport>.Ok(_meter.Report());
    }

    public async Task<Outcome<QuotaReport>> ResetApiCallsAsync()
    {
        if (SuperAdminOnly<QuotaReport>("reset quotas") is { } refused)
        {
            return refused;
        }

        if (_tenant is null || _meter is null)
        {
            return Outcome<QuotaReport>.Fail(Failure.NotFound, "No such tenant.");
        }

        await _meter.FlushAsync();
        var before = _meter.Report().Quotas[QuotaNames.ApiCallsMonthly].Used;
        var now = time.Now();
        var entry = new AuditDraft("tenant.quota_reset", "tenant", _id.ToString("D"), Details: AuditChain.Details(new { quota = QuotaNames.ApiCallsMonthly, before }));
        var meter = _meter;
        await ChangeAsync(
            "The quota reset",
            [AuditExtensions.Sql("UPDATE tenant_usage_metrics SET api_calls = 0, updated_at = $3 WHERE tenant_id = $1 AND period = 'month' AND period_start = $2",
                _id, new DateOnly(now.UtcDateTime.Year, now.UtcDateTime.Month, 1), now)],
            entry,
            () =>
            {
                meter.ResetApiCalls();
                foreach (var lease in _leases.Values)
                {
                    // Calls leased before the reset were counted before it: unused ones are not taken off the new count.
                    lease.Month = default;
                }

                RevokeLeases();
            });
        return Outcome<QuotaReport>.Ok(_meter.Report());
    }

    /// <summary>Null when the caller is a super-admin; otherwise the refusal every super-admin action of this grain answers.</summary>
    private static Outcome<T>? SuperAdminOnly<T>(string action) =>
        Caller.Current is { IsSuperAdmin: true } ? null : Outcome<T>.Fail(Failure.Forbidden, $"Only super-admins {action}.");

    /// <summary>
    /// A super-admin change of the tenant: its statements and entry in one transaction of the tenant's log, then
    /// <paramref name="applied"/> (memory follows the commit), then the entry's copy to the system log.
    /// </summary>
    private async Task ChangeAsync(string what, SqlStatement[] statements, AuditDraft entry, Action applied)
    {
        var result = await GrainFactory.AuditLog(_id).ExecuteAsync(AuditExtensions.Change(statements, entry));
        if (!result.Committed)
        {
            throw new InvalidOperationException($"{what} was refused by the database ({result.SqlState}).");
        }

        applied();
        await RevokedAsync();
        await CopyToSystemLogAsync(entry);
    }

    /// <summary>
    /// Super-admin actions on a tenant are recorded in the tenant's log, in the change's own transaction, and copied to the
    /// system log. The copy goes to another chain, so it cannot share that transaction: it follows the commit, and if it
    /// fails it is retried on a timer (and once more on deactivation) rather than failing a change that already happened.
    /// </summary>
    private async Task CopyToSystemLogAsync(AuditDraft? entry = null)
    {
        if (entry is not null)
        {
            var (ip, userAgent, requestId) = Caller.Origin;
            _systemCopies.Add(new SystemCopy(entry, Caller.Current, ip, userAgent, requestId));
        }

        if (await CopyPendingAsync() is not { } failed)
        {
            _systemCopyTimer?.Dispose();
            _systemCopyTimer = null;
            return;
        }

        logger.LogError(failed, "Could not copy {Count} audit entries of tenant {TenantId} to the system log; retrying every {Interval}",
            _systemCopies.Count, _id, SystemCopyRetry);
        // Interleave = false: a retry runs between calls, never inside a change. KeepAlive: pending copies hold the activation.
        _systemCopyTimer ??= this.RegisterGrainTimer(_ => CopyToSystemLogAsync(), new GrainTimerCreationOptions(SystemCopyRetry, SystemCopyRetry)
        {
            Interleave = false,
            KeepAlive = true,
        });
    }

    /// <summary>Copies the pending entries in order; the error that stopped it, if any (the rest stay pending).</summary>
    private async Task<Exception?> CopyPendingAsync()
    {
        try
        {
            while (_systemCopies.Count > 0)
            {
                var copy = _systemCopies[0];
                // A retry runs in a timer: it acts for the caller who made the change, so the copy names them as the original does.
                if (copy.Caller is { } caller)
                {
                    signer.Enter(caller);
                }

                Caller.SetOrigin(copy.Ip, copy.UserAgent, copy.RequestId);
                await GrainFactory.AuditLog(GrainKeys.SystemTenant).AppendAsync(copy.Entry);
                _systemCopies.RemoveAt(0);
            }

            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private sealed record SystemCopy(AuditDraft Entry, Caller? Caller, string? Ip, string? UserAgent, string? RequestId);

    private static string Past(string action) => action switch
    {
        "suspend" => "suspended",
        "reactivate" => "reactivated",
        "cancel" => "canceled",
        "delete" => "deleted",
        _ => action,
    };

    internal static TenantDetails ReadTenant(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetString(3),
        TenantStatusNames.Parse(reader.GetString(4)) ?? TenantStatus.Suspended,
        reader.IsDBNull(5) ? null : reader.GetString(5),
        reader.GetFieldValue<DateTimeOffset>(6),
        reader.GetFieldValue<DateTimeOffset>(7),
        reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8));
}
