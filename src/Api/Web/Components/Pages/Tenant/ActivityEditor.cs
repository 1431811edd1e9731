using System.Globalization;
using MudBlazor;
using Shohayota.Grains.Interfaces.Activities;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Users;

namespace Shohayota.Api.Web.Components.Pages.Tenant;

/// <summary>A user as the activity dialog offers them for the assignee.</summary>
public sealed record UserChoice(Guid Id, string Name);

/// <summary>What an activity is about: the page that opens the dialog fixes them (a customer's page: the customer).</summary>
public sealed record ActivityLinks(Guid? CustomerId, Guid? ContactId = null, Guid? DealId = null);

/// <summary>
/// What the activity pages (a customer's page, My tasks) share: the dialog with its save path, completing and deleting
/// through the activity's grain, the users to assign, and how a type reads (its word and icon).
/// </summary>
public static class ActivityEditor
{
    public static readonly DialogOptions Options = new() { MaxWidth = MaxWidth.Medium, FullWidth = true, CloseOnEscapeKey = true };

    /// <summary>
    /// The dialog for a new activity of <paramref name="type"/> about <paramref name="links"/> (<paramref name="activity"/>
    /// null) or for an edit; due times are typed in <paramref name="zone"/>. The saved activity, or null when canceled.
    /// </summary>
    public static async Task<ActivityDetails?> OpenAsync(
        IDialogService dialogs, UiSession session, ISnackbar snackbar, ActivityDetails? activity, ActivityLinks links, string type, TimeZoneInfo zone)
    {
        var caller = await session.CallerAsync();
        var users = await UsersAsync(session, snackbar);
        var parameters = new DialogParameters<ActivityDialog>
        {
            { d => d.Activity, activity },
            { d => d.Links, links },
            { d => d.Type, type },
            { d => d.Me, caller.UserId },
            { d => d.Users, users },
            { d => d.TimeZone, zone },
            { d => d.Save, (fields, version) => SaveAsync(session, activity?.Id, fields, version) },
        };
        var title = activity is null ? $"New {Noun(type)}" : $"Edit {activity.Subject}";
        var dialog = await dialogs.ShowAsync<ActivityDialog>(title, parameters, Options);
        return await dialog.Result is { Canceled: false, Data: ActivityDetails saved } ? saved : null;
    }

    /// <summary>Creates (no id) or updates the activity through its grain, with the version the dialog read.</summary>
    public static Task<UiResult<ActivityDetails>> SaveAsync(UiSession session, Guid? id, ActivityFields fields, int? version) => id is not { } existing
        ? session.RunAsync<ActivityDetails>((grains, caller) => Activity(grains, caller, Guid.NewGuid()).CreateAsync(fields), write: true)
        : session.RunAsync<ActivityDetails>((grains, caller) => Activity(grains, caller, existing).UpdateAsync(fields, version), write: true);

    /// <summary>Completes (or reopens) the activity with the version the page read; says so, or why not, in a snackbar.</summary>
    public static async Task<ActivityDetails?> CompleteAsync(UiSession session, ISnackbar snackbar, ActivityDetails activity, bool done)
    {
        var result = await session.RunAsync<ActivityDetails>(
            (grains, caller) => Activity(grains, caller, activity.Id).CompleteAsync(done, activity.Version), write: true);
        if (!result.Ok)
        {
            snackbar.Add(RecordForm.Message(Noun(activity.Type), result.Failure, result.Message), Severity.Error);
            return null;
        }

        snackbar.Add($"{Title(activity.Type)} {activity.Subject} {(done ? "completed" : "reopened")}.", Severity.Success);
        return result.Value;
    }

    /// <summary>Deletes the activity after a confirmation; true when it is gone.</summary>
    public static async Task<bool> DeleteAsync(IDialogService dialogs, UiSession session, ISnackbar snackbar, ActivityDetails activity)
    {
        var noun = Noun(activity.Type);
        var confirmed = await dialogs.ShowMessageBoxAsync($"Delete {noun}", $"Delete the {noun} {activity.Subject}? This cannot be undone.",
            yesText: "Delete", cancelText: "Cancel");
        if (confirmed != true)
        {
            return false;
        }

        var result = await session.RunAsync<bool>((grains, caller) => Activity(grains, caller, activity.Id).DeleteAsync(activity.Version), write: true);
        if (!result.Ok)
        {
            snackbar.Add(RecordForm.Message(noun, result.Failure, result.Message), Severity.Error);
            return false;
        }

        snackbar.Add($"{Title(activity.Type)} {activity.Subject} deleted.", Severity.Success);
        return true;
    }

    /// <summary>
    /// The users an activity can be assigned to: the tenant's enabled users for an admin (the user directory is the
    /// admins'); a member assigns to themselves or nobody, so they get none and the dialog offers "Me".
    /// </summary>
    public static async Task<IReadOnlyList<UserChoice>> UsersAsync(UiSession session, ISnackbar snackbar)
    {
        if (!await session.IsInRoleAsync(Roles.TenantAdmin))
        {
            return [];
        }

        var result = await session.RunAsync((grains, caller) => grains.GetGrain<IUserDirectoryGrain>("users").ListAsync(caller.TenantId));
        if (!result.Ok)
        {
            snackbar.Add(result.Message!, Severity.Error);
            return [];
        }

        return result.Value!.Where(u => !u.Disabled).OrderBy(u => u.Name, StringComparer.CurrentCultureIgnoreCase)
            .Select(u => new UserChoice(u.Id, u.Name.Length > 0 ? u.Name : u.Email)).ToList();
    }

    public static IActivityGrain Activity(IGrainFactory grains, Caller caller, Guid id) => grains.GetGrain<IActivityGrain>(GrainKeys.Activity(caller.TenantId, id));

    /// <summary>"note", "task", "call", "meeting" (unknown types as they are).</summary>
    public static string Noun(string type) => type;

    /// <summary>"Note", "Task", "Call", "Meeting".</summary>
    public static string Title(string type) => type.Length == 0 ? type : char.ToUpperInvariant(type[0]) + type[1..];

    public static string Icon(string type) => type switch
    {
        ActivityTypes.Note => Icons.Material.Filled.StickyNote2,
        ActivityTypes.Task => Icons.Material.Filled.TaskAlt,
        ActivityTypes.Call => Icons.Material.Filled.Call,
        ActivityTypes.Meeting => Icons.Material.Filled.Groups,
        _ => Icons.Material.Filled.Event,
    };

    /// <summary>An activity that is due or done: anything but a note.</summary>
    public static bool Completable(string type) => type != ActivityTypes.Note;

    /// <summary>
    /// How the timeline words an activity's entry: "Note added", "Task completed", …; null for other entries.
    /// <paramref name="type"/>: the activity's type, as the entry recorded it or the page lists it.
    /// </summary>
    public static string? TimelineAction(string action, string? type)
    {
        var verb = action switch
        {
            "activity.created" => "added",
            "activity.updated" => "edited",
            "activity.deleted" => "deleted",
            "activity.completed" => "completed",
            "activity.reopened" => "reopened",
            _ => null,
        };
        return verb is null ? null : $"{Title(type ?? "activity")} {verb}";
    }

    /// <summary>
    /// An activity's timeline entry in words: "Note added" and the subject, from the activity as the page lists it, else
    /// as the entry's details recorded it (a deleted one); null for an entry about anything else.
    /// </summary>
    public static TimelineActivity? Timeline(AuditEntry entry, IEnumerable<ActivityDetails> known)
    {
        if (entry.TargetType != "activity" || !entry.Action.StartsWith("activity.", StringComparison.Ordinal))
        {
            return null;
        }

        var listed = Guid.TryParse(entry.TargetId, out var id) ? known.FirstOrDefault(a => a.Id == id) : null;
        var (type, subject) = DetailsOf(entry.Details);
        return TimelineAction(entry.Action, type ?? listed?.Type) is { } action ? new TimelineActivity(action, listed?.Subject ?? subject) : null;
    }

    /// <summary>"type" and "subject" of an entry's details (a creation, completion or deletion records both; an edit its changes).</summary>
    private static (string? Type, string? Subject) DetailsOf(string? details)
    {
        if (string.IsNullOrEmpty(details))
        {
            return (null, null);
        }

        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(details);
            if (json.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                return (null, null);
            }

            static string? Text(System.Text.Json.JsonElement element, string property) =>
                element.ValueKind == System.Text.Json.JsonValueKind.Object && element.TryGetProperty(property, out var value)
                && value.ValueKind == System.Text.Json.JsonValueKind.String ? value.GetString() : null;

            // An edit records {changes: {subject: {before, after}}}: its new subject when it changed.
            string? Changed(string property) =>
                json.RootElement.TryGetProperty("changes", out var changes) && changes.ValueKind == System.Text.Json.JsonValueKind.Object
                && changes.TryGetProperty(property, out var change) ? Text(change, "after") : null;

            var root = json.RootElement;
            return (Text(root, "type") ?? Changed("type"), Text(root, "subject") ?? Changed("subject"));
        }
        catch (System.Text.Json.JsonException)
        {
            return (null, null);
        }
    }

    /// <summary>
    /// My tasks' groups, each a due window that starts where the one before ends: overdue (due before
    /// <paramref name="now"/>), today (the rest of today in <paramref name="zone"/>) and this week (from tomorrow to
    /// seven days from the start of today, as the API's <c>due=week</c> ends).
    /// </summary>
    public static IReadOnlyList<TaskWindow> TaskWindows(DateTimeOffset now, TimeZoneInfo zone)
    {
        var today = TimeZoneInfo.ConvertTime(now, zone).Date;
        var tomorrow = UiClock.StartOf(today.AddDays(1), zone);
        return
        [
            new TaskWindow("overdue", "Overdue", null, now),
            new TaskWindow("today", "Today", now, tomorrow),
            new TaskWindow("week", "This week", tomorrow, UiClock.StartOf(today.AddDays(7), zone)),
        ];
    }

    /// <summary>A due time in the page's zone: "2026-05-04 09:30" and the zone ("UTC", "Europe/Berlin").</summary>
    public static string Due(DateTimeOffset? at, TimeZoneInfo zone) => at is { } t
        ? TimeZoneInfo.ConvertTime(t, zone).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " " + UiClock.ZoneName(zone)
        : "–";
}

/// <summary>An activity's timeline entry as the customer's page words it: "Task completed" and the activity's subject.</summary>
public sealed record TimelineActivity(string Action, string? Subject);

/// <summary>One group of My tasks: its key (the test id's end), its heading and its due window (<c>[From, Before)</c>).</summary>
public sealed record TaskWindow(string Key, string Title, DateTimeOffset? From, DateTimeOffset Before);
