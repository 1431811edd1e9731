using System.Globalization;
using System.Text.Json;
using Npgsql;

namespace Shohayota.Baseline;

/// <summary>The same JSON shape as the Api's customer endpoints, with nothing in front: no auth, no grains.</summary>
public static class BaselineApi
{
    public static IEndpointRouteBuilder MapBaselineApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/b1/{tenantId:guid}/customers/{id:guid}", async (Guid tenantId, Guid id, HttpContext http, BaselineDatabase database) =>
            Respond(http, await database.GetCachedAsync(tenantId, id)));
        routes.MapGet("/b2/{tenantId:guid}/customers/{id:guid}", async (Guid tenantId, Guid id, HttpContext http, BaselineDatabase database) =>
            Respond(http, await database.GetAsync(tenantId, id)));
        routes.MapPost("/b3/{tenantId:guid}/customers", CreateCustomerAsync);
        return routes;
    }

    private static IResult Respond(HttpContext http, CustomerResponse? customer)
    {
        if (customer is null)
        {
            return TypedResults.NotFound();
        }

        http.Response.Headers.ETag = ETag(customer.Version);
        return TypedResults.Ok(customer);
    }

    private static async Task<IResult> CreateCustomerAsync(
        Guid tenantId, CustomerBody body, HttpContext http, BaselineDatabase database, TimeProvider time)
    {
        if (string.IsNullOrWhiteSpace(body.Name) || body.Name.Length > 200)
        {
            return TypedResults.BadRequest();
        }

        var now = time.GetUtcNow();
        var customer = new CustomerResponse(Guid.NewGuid(), body.Name, body.Email, body.Phone, body.Company, body.Status ?? "lead",
            body.Tags ?? [], body.Notes, body.OwnerUserId, now, now, 1);
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand(
            """
            INSERT INTO customers (tenant_id, id, name, email, phone, company, status, tags, notes, owner_user_id, created_at, updated_at, version)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1)
            """, connection, transaction))
        {
            foreach (var value in new object?[]
                     {
                         tenantId, customer.Id, customer.Name, customer.Email, customer.Phone, customer.Company, customer.Status,
                         customer.Tags.ToArray(), customer.Notes, customer.OwnerUserId, now,
                     })
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
            }

            await insert.ExecuteNonQueryAsync();
        }

        await using (var audit = new NpgsqlCommand(
            "INSERT INTO bench_audit (tenant_id, at, action, target_id, details) VALUES ($1, $2, 'customer.created', $3, $4::jsonb)",
            connection, transaction))
        {
            audit.Parameters.Add(new NpgsqlParameter { Value = tenantId });
            audit.Parameters.Add(new NpgsqlParameter { Value = now });
            audit.Parameters.Add(new NpgsqlParameter { Value = customer.Id });
            audit.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(customer, JsonSerializerOptions.Web) });
            await audit.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        http.Response.Headers.ETag = ETag(customer.Version);
        return TypedResults.Created($"/b1/{tenantId:D}/customers/{customer.Id:D}", customer);
    }

    private static string ETag(int version) => $"\"{version.ToString(CultureInfo.InvariantCulture)}\"";
}

public sealed record CustomerBody(
    string? Name, string? Email, string? Phone, string? Company, string? Status, List<string>? Tags, string? Notes, Guid? OwnerUserId);

/// <summary>Field for field the Api's <c>CustomersApi.CustomerResponse</c>.</summary>
public sealed record CustomerResponse(
    Guid Id, string Name, string? Email, string? Phone, string? Company, string Status, IReadOnlyList<string> Tags, string? Notes,
    Guid? OwnerUserId, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, int Version);
