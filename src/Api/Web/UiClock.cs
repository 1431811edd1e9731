using Microsoft.JSInterop;

namespace Shohayota.Api.Web;

/// <summary>
/// The browser's time zone, for what a user means by "today" and "this week" and for the due times they type: the
/// browser names it (<c>Intl</c>, through <c>shohayota.timeZone</c> in App.razor); UTC when it names none the server
/// knows, or cannot be asked.
/// </summary>
public static class UiClock
{
    public static async Task<TimeZoneInfo> ZoneAsync(IJSRuntime js)
    {
        try
        {
            var name = await js.InvokeAsync<string?>("shohayota.timeZone");
            return Find(name);
        }
        catch (Exception e) when (e is JSException or JSDisconnectedException or InvalidOperationException or TaskCanceledException)
        {
            return TimeZoneInfo.Utc;
        }
    }

    /// <summary>The zone an IANA name names (as the API's <c>tz</c>), else UTC.</summary>
    public static TimeZoneInfo Find(string? name) =>
        name is { Length: > 0 and <= 64 } && TimeZoneInfo.TryFindSystemTimeZoneById(name, out var zone) ? zone : TimeZoneInfo.Utc;

    /// <summary>"UTC" or the IANA name ("Europe/Berlin").</summary>
    public static string ZoneName(TimeZoneInfo zone) => zone == TimeZoneInfo.Utc || zone.Id is "Etc/UTC" or "UTC" ? "UTC" : zone.Id;

    /// <summary>The moment a day starts in <paramref name="zone"/>; a day that starts in a gap (clocks sprang forward at midnight) starts at its first valid minute.</summary>
    public static DateTimeOffset StartOf(DateTime day, TimeZoneInfo zone) => At(day.Date, zone);

    /// <summary>A wall-clock time typed in <paramref name="zone"/> as a moment (a time in a gap moves past it).</summary>
    public static DateTimeOffset At(DateTime local, TimeZoneInfo zone)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(1);
        }

        return new DateTimeOffset(local, zone.GetUtcOffset(local)).ToUniversalTime();
    }
}
