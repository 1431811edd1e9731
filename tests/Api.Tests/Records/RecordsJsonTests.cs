using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Shohayota.Api.Activities;
using Shohayota.Api.Contacts;
using Shohayota.Api.Customers;
using Shohayota.Api.Deals;
using Shohayota.Api.Records;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Records;

/// <summary>The records' responses and list pages go through source-generated JSON metadata and keep their shape, byte for byte.</summary>
public sealed class RecordsJsonTests
{
    private static readonly DateTimeOffset Created = new(2026, 12, 3, 19, 0, 0, 123, TimeSpan.Zero);

    private static readonly DateTimeOffset Updated = new(2026, 12, 3, 19, 0, 1, TimeSpan.FromHours(2));

    private static readonly JsonElement Values = JsonDocument.Parse("""{"active":true,"industry":"Bäckerei <&>","size":1.5,"since":"2024-02-29"}""").RootElement;

    public static TheoryData<string> Responses => ["customer", "customer list", "contact list", "deal list", "activity list"];

    [Theory]
    [MemberData(nameof(Responses))]
    public async Task EachIsSourceGeneratedAndWritesTheSameBytesAsReflection(string kind)
    {
        var host = await ApiHost.SharedAsync();
        var options = host.Services.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        var customer = new CustomersApi.CustomerResponse(
            Guid.NewGuid(), "Ada \"Countess\" Lovelace", "ada@example.test", null, "Analytical <Engines>", "active", ["vip", "ünïcode"],
            "line one\nline two", Guid.NewGuid(), Created, Updated, 7, Values);
        object response = kind switch
        {
            "customer" => customer,
            "customer list" => new CustomersApi.CustomerList([customer, customer with { Tags = [], Notes = null }], "next"),
            "contact list" => new ContactsApi.ContactList(
                [new ContactsApi.ContactResponse(Guid.NewGuid(), "Ada", null, "ada@example.test", "+1 555", "CEO", Guid.NewGuid(), null, ["a"], "n", Created, Updated, 2, Values)],
                null),
            "deal list" => new DealsApi.DealList(
                [new DealsApi.DealResponse(Guid.NewGuid(), "Big <deal>", Guid.NewGuid(), [Guid.NewGuid(), Guid.NewGuid()], 1234.5678m, "EUR", Guid.NewGuid(), "won",
                    new DateOnly(2027, 1, 31), null, Updated, Created, Updated, 3, Values)],
                "cursor"),
            _ => new ActivitiesApi.ActivityList(
                [new ActivitiesApi.ActivityResponse(Guid.NewGuid(), "task", "Call \"back\"", "**body**", Updated, Guid.NewGuid(), null, Guid.NewGuid(), null, true, Updated,
                    Created, Updated, 4)],
                null),
        };

        var typeInfo = options.GetTypeInfo(response.GetType());
        var generated = JsonSerializer.Serialize(response, response.GetType(), options);
        var reflected = JsonSerializer.Serialize(response, response.GetType(), WithReflectionOnly(options));

        typeInfo.OriginatingResolver.Should().BeOfType<RecordsJsonContext>();
        generated.Should().Be(reflected);
    }

    /// <summary>The API's options (encoder, naming, …) as they were before: every type through the reflection-based resolver.</summary>
    private static JsonSerializerOptions WithReflectionOnly(JsonSerializerOptions options) =>
        new(options) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };
}
