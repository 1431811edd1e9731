using Shohayota.Grains.Customers;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Contacts;

/// <summary>Field rules of a contact, shared by the REST layer (every error listed), the grain and the restore.</summary>
public static class ContactRules
{
    public const int MaxName = 100;
    public const int MaxPhone = CustomerRules.MaxPhone;
    public const int MaxTitle = 200;

    public static Dictionary<string, string> Check(string? firstName, string? lastName, string? email, string? phone, string? title,
        IReadOnlyList<string?>? tags, string? notes)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(firstName) && string.IsNullOrWhiteSpace(lastName))
        {
            errors["lastName"] = "A first or a last name is required.";
        }

        if (firstName is not null && (firstName.Length > MaxName || string.IsNullOrWhiteSpace(firstName) && lastName is not null))
        {
            errors["firstName"] = $"A first name has 1 to {MaxName} characters (or leave it out).";
        }

        if (lastName is not null && (lastName.Length > MaxName || string.IsNullOrWhiteSpace(lastName) && firstName is not null))
        {
            errors["lastName"] = $"A last name has 1 to {MaxName} characters (or leave it out).";
        }

        if (email is not null && Validation.Email(email) is { } emailError)
        {
            errors["email"] = emailError;
        }

        if (phone is { Length: > MaxPhone })
        {
            errors["phone"] = $"A phone number has at most {MaxPhone} characters.";
        }

        if (title is { Length: > MaxTitle })
        {
            errors["title"] = $"A title has at most {MaxTitle} characters.";
        }

        CustomerRules.CheckTagsAndNotes(errors, tags, notes);
        return errors;
    }

    public static string? FirstError(ContactFields f) =>
        Check(f.FirstName, f.LastName, f.Email, f.Phone, f.Title, f.Tags, f.Notes).Values.FirstOrDefault();
}
