using Npgsql;
using Orleans.Concurrency;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Deals;
using Shohayota.Grains.Records;

namespace Shohayota.Grains.Deals;

// Stateless worker keyed per tenant: lists read the table in parallel, and the key puts every call under the
// isolation filter's tenant check.
[StatelessWorker, GrainType("deal-query")]
public sealed class DealQueryGrain(TenantDatabase database) : Grain, IDealQueryGrain
{
    public async Task<Outcome<DealPage>> ListAsync(DealQuery query)
    {
        var tenantId = GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;
        if (query.PageSize is < 1 or > 200)
        {
            return Outcome<DealPage>.Fail(Failure.Validation, "pageSize must be 1 to 200.");
        }

        var items = new List<DealDetails>(query.PageSize + 1);
        var page = Command(tenantId, query);
        await database.ReadAsync(tenantId, page.Statement, async reader =>
        {
            while (await reader.ReadAsync())
            {
                items.Add(DealGrain.Read(reader));
            }

            return items.Count;
        }, page.Settings);

        if (items.Count <= query.PageSize)
        {
            return Outcome<DealPage>.Ok(new DealPage(items, null));
        }

        items.RemoveAt(items.Count - 1);
        var last = items[^1];
        var cursor = query.Sort switch
        {
            DealSort.CreatedAtAscending or DealSort.CreatedAtDescending => new DealCursor(query.Sort, last.CreatedAt, null, null, last.Id),
            DealSort.UpdatedAtAscending or DealSort.UpdatedAtDescending => new DealCursor(query.Sort, last.UpdatedAt, null, null, last.Id),
            DealSort.AmountAscending or DealSort.AmountDescending => new DealCursor(query.Sort, null, null, last.Amount, last.Id),
            _ => new DealCursor(query.Sort, null, last.ExpectedCloseDate ?? DateOnly.MaxValue, null, last.Id),
        };
        return Outcome<DealPage>.Ok(new DealPage(items, cursor));
    }

    /// <summary>
    /// One page: the keyset index of the sort, the filters, under row-level security (and the tenant in the key). Internal
    /// for <c>GenericPlanTests</c>, which plans every sort's page.
    /// </summary>
    internal static KeysetPage Command(Guid tenantId, DealQuery query)
    {
        var (key, descending) = query.Sort switch
        {
            DealSort.CreatedAtAscending => ("created_at", false),
            DealSort.CreatedAtDescending => ("created_at", true),
            DealSort.UpdatedAtAscending => ("updated_at", false),
            DealSort.UpdatedAtDescending => ("updated_at", true),
            DealSort.AmountAscending => ("amount", false),
            DealSort.AmountDescending => ("amount", true),
            DealSort.ExpectedCloseDateAscending => ("close_sort", false),
            _ => ("close_sort", true),
        };

        var after = query.After;
        object? afterKey = after is null ? null : (object?)after.At ?? (object?)after.Date ?? after.Amount;
        return new KeysetQuery(DealGrain.Columns, "deals", tenantId)
            .Where(query.StageId, p => $"stage_id = {p}")
            .Where(query.Status, p => $"status = {p}")
            .Where(query.CustomerId, p => $"customer_id = {p}")
            .Where(query.ContactId, p => $"id IN (SELECT deal_id FROM deal_contacts WHERE tenant_id = $1 AND contact_id = {p})")
            .Where(query.OwnerUserId, p => $"owner_user_id = {p}")
            .Where(query.ClosingBefore, p => $"expected_close_date < {p}")
            .Where(query.CustomFields, p => $"custom_fields @> {p}::jsonb")
            .Page(key, descending, afterKey, after?.Id, query.PageSize);
    }
}
