using System.Net.Mail;

namespace Shohayota.Grains.Security;

/// <summary>Field rules shared by the REST layer (to list every error) and the grains (to never trust a caller).</summary>
public static class Validation
{
    public const int MaxEmailLength = 254;
    public const int MaxNameLength = 200;

    public static string? Email(string? value) =>
        string.IsNullOrWhiteSpace(value) ? "An e-mail address is required."
        : value.Length > MaxEmailLength ? $"An e-mail address has at most {MaxEmailLength} characters."
        : MailAddress.TryCreate(value, out var parsed) && parsed.Address == value.Trim() && value.Contains('@', StringComparison.Ordinal) ? null
        : "This is not a valid e-mail address.";

    public static string? Name(string? value, string what = "A name") =>
        string.IsNullOrWhiteSpace(value) ? $"{what} is required."
        : value.Length > MaxNameLength ? $"{what} has at most {MaxNameLength} characters."
        : null;

    public static string NormalizeEmail(string email) => email.Trim().ToLowerInvariant();
}
