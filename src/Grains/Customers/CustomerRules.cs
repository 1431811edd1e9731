using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Customers;

/// <summary>Field rules of a customer, shared by the REST layer (every error listed) and the grain (never trust a caller).</summary>
public static class CustomerRules
{
    public const int MaxName = 200;
    public const int MaxPhone = 50;
    public const int MaxCompany = 200;
    public const int MaxTags = 20;
    public const int MaxTagLength = 50;
    public const int MaxNotes = 10_000;

    public static Dictionary<string, string> Check(string? name, string? email, string? phone, string? company, string? status,
        IReadOnlyList<string?>? tags, string? notes)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(name))
        {
            errors["name"] = "A name is required.";
        }
        else if (name.Length > MaxName)
        {
            errors["name"] = $"A name has at most {MaxName} characters.";
        }

        if (email is not null && Validation.Email(email) is { } emailError)
        {
            errors["email"] = emailError;
        }

        if (phone is { Length: > MaxPhone })
        {
            errors["phone"] = $"A phone number has at most {MaxPhone} characters.";
        }

        if (company is { Length: > MaxCompany })
        {
            errors["company"] = $"A company has at most {MaxCompany} characters.";
        }

        if (status is not null && !CustomerStatuses.All.Contains(status))
        {
            errors["status"] = $"Status must be one of: {string.Join(", ", CustomerStatuses.All)}.";
        }

        CheckTagsAndNotes(errors, tags, notes);
        return errors;
    }

    /// <summary>The tags and notes every record type has, with the same limits (customers', contacts', …).</summary>
    public static void CheckTagsAndNotes(Dictionary<string, string> errors, IReadOnlyList<string?>? tags, string? notes)
    {
        if (tags is { Count: > MaxTags })
        {
            errors["tags"] = $"At most {MaxTags} tags.";
        }
        else if (tags is not null && tags.Any(t => string.IsNullOrWhiteSpace(t) || t.Length > MaxTagLength))
        {
            errors["tags"] = $"Each tag has 1 to {MaxTagLength} characters.";
        }

        if (notes is { Length: > MaxNotes })
        {
            errors["notes"] = $"Notes have at most {MaxNotes} characters.";
        }
    }

    /// <summary>A list's <c>q</c> and <c>tag</c> parameters: the same bounds on every record list.</summary>
    public static (string? Q, string? Tag) CheckSearch(string? q, string? tag) => (
        q is { Length: > 200 } ? "q has at most 200 characters." : q is not null && q.Any(char.IsControl) ? "q cannot contain control characters." : null,
        tag is null || tag.Length is >= 1 and <= MaxTagLength ? null : $"A tag has 1 to {MaxTagLength} characters.");

    public static string? FirstError(CustomerFields f) =>
        Check(f.Name, f.Email, f.Phone, f.Company, f.Status, f.Tags, f.Notes).Values.FirstOrDefault();
}
