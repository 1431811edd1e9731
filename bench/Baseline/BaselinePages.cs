using System.Buffers.Text;
using System.Text.Json;
using Npgsql;

namespace Shohayota.Baseline;

/// <summary>
/// B4: the list page S3a/S3b serve (50 customers, newest first, keyset after created_at and id), with the same query
/// and index (customers_created_idx), as the superuser: no RLS, no set_config, no authentication, no grains.
/// </summary>
public static class BaselinePages
{
    public static IEndpointRouteBuilder MapBaselinePages(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/b4/{tenantId:guid}/customers", ListAsync);
        return routes;
    }

    private static async Task<IResult> ListAsync(Guid tenantId, DateTimeOffset? at, Guid? id, BaselineDatabase database)
    {
        const int pageSize = 50;
        var after = at is not null && id is not null;
        await using var command = database.DataSource.CreateCommand(
            $"SELECT {BaselineDatabase.Columns} FROM customers WHERE tenant_id = $1" +
            (after ? " AND (created_at, id) < ($3, $4)" : "") +
            " ORDER BY created_at DESC, id DESC LIMIT $2");
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = pageSize + 1 });
        if (after)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = at!.Value.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter { Value = id!.Value });
        }

        var items = new List<CustomerResponse>(pageSize + 1);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                items.Add(BaselineDatabase.Read(reader));
            }
        }

        string? next = null;
        if (items.Count > pageSize)
        {
            items.RemoveAt(pageSize);
            // A cursor like the Api's: base64url JSON of the sort, the last row's created_at and id.
            next = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(new { S = 0, A = items[^1].CreatedAt, I = items[^1].Id }));
        }

        return TypedResults.Ok(new { items, nextCursor = next });
    }
}
