using System.Net;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Customers;

/// <summary>
/// A list's tag filter takes one of four ways (TagFilter, sql/0260): a page found in the sort's first 2,000 rows, the walk
/// going on after the matches found there, the tag's per-tenant keys when they give at most 1,000 ids, or the sort's walk
/// for a tag on more rows. Whichever it takes, every page must be the one the filter means, and another tenant's rows
/// with the same tag never count.
/// </summary>
public sealed class TagFilterTests
{
    public static TheoryData<string> Lists => new() { "customers", "contacts" };

    [Theory]
    [MemberData(nameof(Lists))]
    public async Task EveryPageOfATagIsTheTenantsOwnInOrderWhicheverWayItIsFound(string list)
    {
        var host = await ApiHost.SharedAsync();
        var (tenant, other) = (await host.ProvisionTenantAsync(), await host.ProvisionTenantAsync());
        // 4,000 rows, the g-th created g seconds ago (so newest first is g ascending), named in another order:
        // "dense" on every 4th row (the walk of 2,000 finds every page), "sparse" on every 50th (40 in the walk: it goes
        // on after them), "rare" on 7 rows spread out (the keys give them), "tail" on the 60 oldest (newest first: the
        // keys give the first page, the walk after its cursor the next), "many" on the 1,400 oldest (newest first: more
        // than the keys give, so the sort's walk through all the others), "first" on the 1,400 newest (the same, oldest
        // first; the rows' order on disk is not the sort's there).
        await InsertAsync(host, list, tenant.Id, """
            CASE WHEN g % 4 = 0 THEN ARRAY['dense'] ELSE '{}' END
            || CASE WHEN g % 50 = 0 THEN ARRAY['sparse'] ELSE '{}' END
            || CASE WHEN g IN (5, 700, 1300, 2100, 3300, 3999, 4000) THEN ARRAY['rare'] ELSE '{}' END
            || CASE WHEN g > 3940 THEN ARRAY['tail'] ELSE '{}' END
            || CASE WHEN g > 2600 THEN ARRAY['many'] ELSE '{}' END
            || CASE WHEN g <= 1400 THEN ARRAY['first'] ELSE '{}' END
            """, 4_000);
        // Another tenant with 1,500 rows of "rare" and "tail": none of them may count toward the first one's 1,000.
        await InsertAsync(host, list, other.Id, "ARRAY['rare', 'tail']", 1_500);

        foreach (var tag in new[] { "dense", "sparse", "rare", "tail", "many", "first", "none" })
        {
            foreach (var sort in new[] { "-createdAt", "createdAt", "name" })
            {
                var seen = await WalkAsync(host, list, tenant.Admin.AccessToken, $"tag={tag}&sort={sort}&pageSize=50");
                seen.Should().Equal(await TruthAsync(host, list, tenant.Id, tag, sort), $"{list}, tag={tag}, sort={sort}");
            }
        }
    }

    /// <summary>Every page of a list, in order: the ids.</summary>
    private static async Task<List<Guid>> WalkAsync(ApiHost host, string list, string token, string query)
    {
        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            using var response = await host.SendAsync(HttpMethod.Get, $"/api/{list}?{query}{(cursor is null ? "" : "&cursor=" + cursor)}", token);
            response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            var page = await response.JsonAsync();
            seen.AddRange(page["items"]!.AsArray().Select(i => Guid.Parse(i!["id"]!.GetValue<string>())));
            cursor = page["nextCursor"]?.GetValue<string>();
            seen.Count.Should().BeLessThan(4_000);
        }
        while (cursor is not null);

        return seen;
    }

    /// <summary>The ids the filter means, as the superuser reads them without the API.</summary>
    private static async Task<List<Guid>> TruthAsync(ApiHost host, string list, Guid tenant, string tag, string sort)
    {
        var name = list == "customers" ? "lower(name)" : "sort_name";
        var order = sort switch
        {
            "-createdAt" => "created_at DESC, id DESC",
            "createdAt" => "created_at, id",
            _ => $"{name}, id",
        };
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand($"SELECT id FROM {list} WHERE tenant_id = $1 AND $2 = ANY(tags) ORDER BY {order}", connection);
        read.Parameters.Add(new NpgsqlParameter { Value = tenant });
        read.Parameters.Add(new NpgsqlParameter { Value = tag });
        var ids = new List<Guid>();
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    /// <summary><paramref name="count"/> rows of the tenant as the superuser, with the tags <paramref name="tags"/> computes from g.</summary>
    private static async Task InsertAsync(ApiHost host, string list, Guid tenant, string tags, int count)
    {
        // Names in another order than creation: g × 7 mod 4,001 (a prime) is different for every g.
        const string name = "'n' || lpad(((g * 7) % 4001)::text, 5, '0')";
        var sql = list == "customers"
            ? $"""
               INSERT INTO customers (tenant_id, id, name, status, tags, created_at, updated_at, version)
               SELECT $1, gen_random_uuid(), {name}, 'lead', {tags}, now() - g * interval '1 second', now() - g * interval '1 second', 1
               FROM generate_series(1, $2) AS g
               """
            : $"""
               INSERT INTO contacts (tenant_id, id, last_name, tags, created_at, updated_at, version)
               SELECT $1, gen_random_uuid(), {name}, {tags}, now() - g * interval '1 second', now() - g * interval '1 second', 1
               FROM generate_series(1, $2) AS g
               """;
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand(sql, connection);
        insert.Parameters.Add(new NpgsqlParameter { Value = tenant });
        insert.Parameters.Add(new NpgsqlParameter { Value = count });
        await insert.ExecuteNonQueryAsync();
    }
}
