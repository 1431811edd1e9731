using Shohayota.Grains.Interfaces.Quotas;

namespace Shohayota.Grains.Quotas;

/// <summary>
/// A tenant's counted quotas: what its committed rows use (customers, users, storage), the reservations of writes in
/// flight, and the limits from its plan and overrides. Owned by the TenantGrain's meter, so single-threaded; no I/O.
/// </summary>
internal sealed class QuotaBook(PlansOptions plans)
{
    private static readonly TimeSpan ReservationLifetime = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, QuotaOverride> _overrides = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, (QuotaDelta Delta, DateTimeOffset Expires)> _reservations = [];

    public string Plan { get; set; } = "free";

    public long Customers { get; private set; }

    public long Users { get; private set; }

    public long StorageBytes { get; private set; }

    public void Load(long customers, long users, long storageBytes, IEnumerable<QuotaOverride> overrides)
    {
        (Customers, Users, StorageBytes) = (customers, users, storageBytes);
        foreach (var o in overrides)
        {
            _overrides[o.Quota] = o;
        }
    }

    /// <summary>Takes room for a write about to run, or says which quota it would exceed. "Used" includes writes in flight.</summary>
    public Reservation Reserve(QuotaDelta delta, DateTimeOffset now)
    {
        foreach (var expired in _reservations.Where(r => r.Value.Expires <= now).Select(r => r.Key).ToList())
        {
            _reservations.Remove(expired);
        }

        var held = _reservations.Values.Aggregate(new QuotaDelta(0, 0, 0), (sum, r) => Add(sum, r.Delta));
        foreach (var (quota, used, reserved, asked) in new[]
                 {
                     (QuotaNames.Customers, Customers, held.Customers, delta.Customers),
                     (QuotaNames.Users, Users, held.Users, delta.Users),
                     (QuotaNames.StorageBytes, StorageBytes, held.StorageBytes, delta.StorageBytes),
                 })
        {
            var limit = Limit(quota, now);
            if (asked > 0 && used + reserved + asked > limit)
            {
                return new Reservation(Guid.Empty, false, quota, limit, used + reserved);
            }
        }

        var id = Guid.NewGuid();
        _reservations[id] = (delta, now + ReservationLifetime);
        return new Reservation(id, true, null, 0, 0);
    }

    public void Settle(Guid id, bool committed)
    {
        if (_reservations.Remove(id, out var reservation) && committed)
        {
            Apply(reservation.Delta);
        }
    }

    /// <summary>A batch's settlement, then its reservations in order (a later change sees the room an earlier one took).</summary>
    public IReadOnlyList<Reservation> SettleAndReserve(QuotaSettlement settled, IReadOnlyList<QuotaDelta> growth, DateTimeOffset now)
    {
        foreach (var id in settled.Committed)
        {
            Settle(id, committed: true);
        }

        foreach (var id in settled.Released)
        {
            Settle(id, committed: false);
        }

        Apply(settled.Shrinkage);
        return [.. growth.Select(delta => Reserve(delta, now))];
    }

    public void Apply(QuotaDelta delta)
    {
        Customers = Math.Max(0, Customers + delta.Customers);
        Users = Math.Max(0, Users + delta.Users);
        StorageBytes = Math.Max(0, StorageBytes + delta.StorageBytes);
    }

    public QuotaOverride? Override(string quota) => _overrides.GetValueOrDefault(quota);

    public void SetOverride(string quota, QuotaOverride? value)
    {
        if (value is null)
        {
            _overrides.Remove(quota);
        }
        else
        {
            _overrides[quota] = value;
        }
    }

    public IReadOnlyList<QuotaOverride> ActiveOverrides(DateTimeOffset now) =>
        _overrides.Values.Where(o => o.ExpiresAt is null || o.ExpiresAt > now).OrderBy(o => o.Quota, StringComparer.Ordinal).ToList();

    /// <summary>The limit in force: an unexpired override, else the plan's.</summary>
    public long Limit(string quota, DateTimeOffset now)
    {
        if (_overrides.TryGetValue(quota, out var o) && (o.ExpiresAt is null || o.ExpiresAt > now))
        {
            return o.Value;
        }

        var plan = PlanLimits;
        return quota switch
        {
            QuotaNames.Users => plan.Users,
            QuotaNames.Customers => plan.Customers,
            QuotaNames.ApiCallsMonthly => plan.ApiCallsMonthly,
            QuotaNames.StorageBytes => plan.StorageBytes,
            _ => (long)plan.RateLimitPerSecond,
        };
    }

    /// <summary>The request rate and burst in force: an override keeps the plan's burst-to-rate proportion.</summary>
    public (double Rate, double Burst) RateLimit(DateTimeOffset now)
    {
        var plan = PlanLimits;
        if (_overrides.TryGetValue(QuotaNames.RateLimitPerSecond, out var o) && (o.ExpiresAt is null || o.ExpiresAt > now))
        {
            return (o.Value, Math.Max(1, o.Value * (plan.RateLimitPerSecond > 0 ? plan.RateLimitBurst / plan.RateLimitPerSecond : 2)));
        }

        return (plan.RateLimitPerSecond, plan.RateLimitBurst);
    }

    private PlanLimits PlanLimits => plans.GetValueOrDefault(Plan) ?? new PlanLimits();

    private static QuotaDelta Add(QuotaDelta a, QuotaDelta b) => new(a.Customers + b.Customers, a.Users + b.Users, a.StorageBytes + b.StorageBytes);
}
