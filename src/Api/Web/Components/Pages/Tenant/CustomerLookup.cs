using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Customers;

namespace Shohayota.Api.Web.Components.Pages.Tenant;

/// <summary>A customer as a picker offers it: its name, and its e-mail or company to tell two of one name apart.</summary>
public sealed record CustomerChoice(Guid Id, string Name, string? Detail = null)
{
    // One customer is one choice, however much of it is known (a name from a row, or a search hit with its e-mail).
    public bool Equals(CustomerChoice? other) => other is not null && other.Id == Id;

    public override int GetHashCode() => Id.GetHashCode();
}

/// <summary>Customers for the pages of other records: the picker's search and the names of the customers a page shows.</summary>
public static class CustomerLookup
{
    public const int PickerSize = 20;

    /// <summary>The customer search's best matches for the typed text (the API's <c>q</c>), or the first by name when nothing is typed.</summary>
    public static async Task<UiResult<IReadOnlyList<CustomerChoice>>> SearchAsync(UiSession session, string? text)
    {
        var q = text?.Trim() is { Length: > 0 } typed && !typed.Any(char.IsControl) ? typed : null;
        var query = new CustomerQuery(q, null, null, null, q is null ? CustomerSort.NameAscending : CustomerSort.Relevance, PickerSize, null);
        var result = await session.RunAsync((grains, caller) => grains.GetGrain<ICustomerQueryGrain>(GrainKeys.CustomerQuery(caller.TenantId)).ListAsync(query));
        return result.Ok
            ? UiResult<IReadOnlyList<CustomerChoice>>.Success(result.Value!.Items.Select(c => new CustomerChoice(c.Id, c.Name, c.Email ?? c.Company)).ToList())
            : new UiResult<IReadOnlyList<CustomerChoice>>(null, result.Failure, result.Message);
    }

    /// <summary>
    /// The names of <paramref name="ids"/> from their grains, in parallel, inside the caller's admitted call (a page's
    /// rows name at most a page of customers); null for one that no longer exists.
    /// </summary>
    public static async Task<Dictionary<Guid, string?>> NamesAsync(IGrainFactory grains, Caller caller, IEnumerable<Guid> ids)
    {
        var named = await Task.WhenAll(ids.Distinct().Select(async id =>
            (Id: id, Customer: await grains.GetGrain<ICustomerGrain>(GrainKeys.Customer(caller.TenantId, id)).GetAsync())));
        return named.ToDictionary(n => n.Id, n => n.Customer?.Name);
    }
}
