using Shohayota.Grains.Interfaces.Activities;

namespace Shohayota.Grains.Activities;

/// <summary>Field rules of an activity, shared by the REST layer (every error listed), the grain, the restore and the UI.</summary>
public static class ActivityRules
{
    public const int MaxSubject = 200;
    public const int MaxBody = 20_000;

    public static Dictionary<string, string> Check(
        string? type, string? subject, string? body, DateTimeOffset? dueAt, Guid? customerId, Guid? contactId, Guid? dealId, bool done)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        if (type is null || !ActivityTypes.All.Contains(type))
        {
            errors["type"] = "type is one of: note, task, call, meeting.";
        }

        if (string.IsNullOrWhiteSpace(subject) || subject.Length > MaxSubject)
        {
            errors["subject"] = $"A subject has 1 to {MaxSubject} characters.";
        }

        if (body is { Length: > MaxBody })
        {
            errors["body"] = $"A body has at most {MaxBody:N0} characters.";
        }

        if (type == ActivityTypes.Note && dueAt is not null)
        {
            errors["dueAt"] = "A note is not due: dueAt is for tasks, calls and meetings.";
        }

        if (type == ActivityTypes.Note && done)
        {
            errors["done"] = "A note is never done: only tasks, calls and meetings are completed.";
        }

        if (dueAt is { } due && (due.Year < 1900 || due.Year > 9000))
        {
            errors["dueAt"] = "dueAt is a time between the years 1900 and 9000.";
        }

        if (customerId is null && contactId is null && dealId is null)
        {
            errors["customerId"] = "An activity is about at least one record: give customerId, contactId or dealId.";
        }

        foreach (var (field, id) in new[] { ("customerId", customerId), ("contactId", contactId), ("dealId", dealId) })
        {
            if (id == Guid.Empty)
            {
                errors[field] = $"{field} is not an id.";
            }
        }

        return errors;
    }

    public static string? FirstError(ActivityFields f) =>
        Check(f.Type, f.Subject, f.Body, f.DueAt, f.CustomerId, f.ContactId, f.DealId, f.Done).Values.FirstOrDefault();
}
