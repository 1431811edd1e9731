using Npgsql;
using Orleans.Concurrency;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Activities;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Records;

namespace Shohayota.Grains.Activities;

// Stateless worker keyed per tenant: lists read the table in parallel, and the key puts every call under the
// isolation filter's tenant check.
[StatelessWorker, GrainType("activity-query")]
public sealed class ActivityQueryGrain(TenantDatabase database) : Grain, IActivityQueryGrain
{
    public async Task<Outcome<ActivityPage>> ListAsync(ActivityQuery query)
    {
        var tenantId = GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;
        if (query.PageSize is < 1 or > 200)
        {
            return Outcome<ActivityPage>.Fail(Failure.Validation, "pageSize must be 1 to 200.");
        }

        var items = new List<ActivityDetails>(query.PageSize + 1);
        var page = Command(tenantId, query);
        await database.ReadAsync(tenantId, page.Statement, async reader =>
        {
            while (await reader.ReadAsync())
            {
                items.Add(ActivityGrain.Read(reader));
            }

            return items.Count;
        }, page.Settings);

        if (items.Count <= query.PageSize)
        {
            return Outcome<ActivityPage>.Ok(new ActivityPage(items, null));
        }

        items.RemoveAt(items.Count - 1);
        var last = items[^1];
        var at = query.Sort switch
        {
            ActivitySort.CreatedAtAscending or ActivitySort.CreatedAtDescending => last.CreatedAt,
            ActivitySort.UpdatedAtAscending or ActivitySort.UpdatedAtDescending => last.UpdatedAt,
            _ => last.DueAt ?? ActivityDue.Never,
        };
        return Outcome<ActivityPage>.Ok(new ActivityPage(items, new ActivityCursor(query.Sort, at, last.Id)));
    }

    /// <summary>
    /// One page: the keyset index of the sort, the filters, under row-level security (and the tenant in the key). Internal
    /// for <c>GenericPlanTests</c>, which plans every sort's page.
    /// </summary>
    internal static KeysetPage Command(Guid tenantId, ActivityQuery query)
    {
        var (key, descending) = query.Sort switch
        {
            ActivitySort.CreatedAtAscending => ("created_at", false),
            ActivitySort.CreatedAtDescending => ("created_at", true),
            ActivitySort.UpdatedAtAscending => ("updated_at", false),
            ActivitySort.UpdatedAtDescending => ("updated_at", true),
            ActivitySort.DueAtAscending => ("due_sort", false),
            _ => ("due_sort", true),
        };

        var sql = new KeysetQuery(ActivityGrain.Columns, "activities", tenantId)
            .Where(query.Type, p => $"type = {p}")
            .Where(query.AssigneeUserId, p => $"assignee_user_id = {p}")
            .Where(query.DueFrom, p => $"due_at >= {p}")
            .Where(query.DueBefore, p => $"due_at < {p}")
            .Where(query.Done, p => $"(completed_at IS NOT NULL) = {p}")
            .Where(query.ContactId, p => $"contact_id = {p}")
            .Where(query.DealId, p => $"deal_id = {p}");
        // About the customer: linked to it, or to one of its contacts or deals.
        sql.Where(query.CustomerId, ActivityGrain.AboutCustomer);
        return sql.Page(key, descending, query.After?.At, query.After?.Id, query.PageSize);
    }
}
