namespace Shohayota.Grains.Interfaces.Common;

/// <summary>Expected failures cross the grain boundary as values, not exceptions.</summary>
public enum Failure
{
    None = 0,
    NotFound,
    Conflict,
    Forbidden,
    Validation,
    TenantSuspended,
    TenantCanceled,
    TenantDeleted,
    UserDisabled,
    InvalidCredentials,
    InvalidToken,
    TransitionNotAllowed,
    RetentionNotElapsed,
    DuplicateEmail,
    IdempotencyMismatch,
    PreconditionFailed,
    QuotaExceeded,
    RateLimited,
    ServiceUnavailable,
    SearchTimeout,
    SupportAccessDisabled,
    TenantBusy,
}

[GenerateSerializer, Immutable, Alias("Outcome`1")]
public sealed record Outcome<T>(
    [property: Id(0)] T? Value,
    [property: Id(1)] Failure Failure,
    [property: Id(2)] string? Detail,
    [property: Id(3)] Quotas.Reservation? Quota = null,
    [property: Id(4)] TimeSpan? RetryAfter = null)
{
    public bool Succeeded => Failure == Failure.None;

    public static Outcome<T> Ok(T value) => new(value, Failure.None, null);

    public static Outcome<T> Fail(Failure failure, string detail) => new(default, failure, detail);

    public Outcome<TOther> As<TOther>() => new(default, Failure, Detail, Quota, RetryAfter);

    /// <summary>A refusal that tells when to try again (Retry-After on 429 and 503).</summary>
    public static Outcome<T> Later(Failure failure, string detail, TimeSpan retryAfter) => new(default, failure, detail, null, retryAfter);

    public static Outcome<T> QuotaExceeded(Quotas.Reservation refused) => new(default, Failure.QuotaExceeded, refused.Message, refused);
}

/// <summary>Thrown by the grain-call filter when a call crosses tenants or the tenant is not admitted.</summary>
[GenerateSerializer, Alias("TenantAccessDeniedException")]
public sealed class TenantAccessDeniedException : Exception
{
    public TenantAccessDeniedException()
    {
    }

    public TenantAccessDeniedException(string message)
        : base(message)
    {
    }

    public TenantAccessDeniedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public TenantAccessDeniedException(Failure failure, string message)
        : base(message) => Failure = failure;

    [Id(0)]
    public Failure Failure { get; init; } = Failure.Forbidden;
}
