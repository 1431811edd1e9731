namespace Shohayota.Api.Web.Admin;

/// <summary>Why a form's submission failed, and the field the message belongs beside (null: the whole form).</summary>
public sealed record SubmitFailure(string? Field, string Message);
