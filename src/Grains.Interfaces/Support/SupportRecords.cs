using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Interfaces.Support;

/// <summary>A support session: a super-admin acting as one of the tenant's users, for a reason, until it expires or ends.</summary>
[GenerateSerializer, Immutable, Alias("SupportSessionDetails")]
public sealed record SupportSessionDetails(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid TenantId,
    [property: Id(2)] Guid UserId,
    [property: Id(3)] string UserEmail,
    [property: Id(4)] Guid OpenedBy,
    [property: Id(5)] string OpenedByEmail,
    [property: Id(6)] string Reason,
    [property: Id(7)] DateTimeOffset CreatedAt,
    [property: Id(8)] DateTimeOffset ExpiresAt,
    [property: Id(9)] DateTimeOffset? EndedAt)
{
    public bool IsActiveAt(DateTimeOffset now) => EndedAt is null && ExpiresAt > now;
}

[GenerateSerializer, Immutable, Alias("OpenSupportSessionRequest")]
public sealed record OpenSupportSessionRequest(
    [property: Id(0)] Guid UserId,
    [property: Id(1)] string Reason,
    [property: Id(2)] int Minutes);

/// <summary>A session just opened and the user it acts as (the front end issues the session's token for that user).</summary>
[GenerateSerializer, Immutable, Alias("OpenedSupportSession")]
public sealed record OpenedSupportSession(
    [property: Id(0)] SupportSessionDetails Session,
    [property: Id(1)] Users.UserDetails User);

[GenerateSerializer, Immutable, Alias("TenantSettings")]
public sealed record TenantSettings(
    [property: Id(0)] bool AllowSupportAccess);

/// <summary>
/// One per tenant (<see cref="GrainKeys.SupportSessions"/>): the single writer of its support sessions and settings.
/// Super-admins open sessions (unless the tenant forbids it) and end them; the tenant's admins, signed in as people,
/// list and end them and allow or forbid support access.
/// </summary>
[Alias("ISupportSessionsGrain")]
public interface ISupportSessionsGrain : IGrainWithStringKey
{
    public const int MaxMinutes = 60;
    public const int MaxReasonLength = 500;

    [Alias("Open")]
    Task<Outcome<OpenedSupportSession>> OpenAsync(OpenSupportSessionRequest request);

    /// <summary>Every session, newest first (tenant admins and super-admins).</summary>
    [Alias("List"), ReadOnly]
    Task<Outcome<IReadOnlyList<SupportSessionDetails>>> ListAsync();

    /// <summary>The sessions active now, for the tenant's banner (any signed-in user of the tenant, super-admins).</summary>
    [Alias("ListActive"), ReadOnly]
    Task<IReadOnlyList<SupportSessionDetails>> ListActiveAsync();

    /// <summary>Ends the session (idempotent: an ended or expired one answers unchanged); a missing id is NotFound.</summary>
    [Alias("End")]
    Task<Outcome<SupportSessionDetails>> EndAsync(Guid sessionId);

    /// <summary>Whether the session is active now: the front ends' check of a support token; the system caller only.</summary>
    [Alias("IsActive"), ReadOnly]
    Task<bool> IsActiveAsync(Guid sessionId);

    [Alias("GetSettings"), ReadOnly]
    Task<Outcome<TenantSettings>> GetSettingsAsync();

    /// <summary>Allows or forbids support access; forbidding ends every active session.</summary>
    [Alias("SetSettings")]
    Task<Outcome<TenantSettings>> SetSettingsAsync(TenantSettings settings);

    /// <summary>Drops this activation (its rows were just purged or replaced); super-admins and the system only.</summary>
    [Alias("Forget")]
    Task ForgetAsync();
}

/// <summary>The rules of a support session's request, shared by the API and the grain.</summary>
public static class SupportRules
{
    public static string? ValidateReason(string? reason) =>
        string.IsNullOrWhiteSpace(reason) ? "A reason is required."
        : reason.Trim().Length > ISupportSessionsGrain.MaxReasonLength ? $"A reason has at most {ISupportSessionsGrain.MaxReasonLength} characters."
        : null;

    public static string? ValidateMinutes(int? minutes) =>
        minutes is null or < 1 or > ISupportSessionsGrain.MaxMinutes ? $"minutes must be between 1 and {ISupportSessionsGrain.MaxMinutes}." : null;
}
