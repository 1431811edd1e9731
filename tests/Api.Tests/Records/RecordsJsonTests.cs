using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Shohayota.Api.Customers;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Customers;

/// <summary>The hot read's response goes through source-generated JSON metadata and keeps its shape, byte for byte.</summary>
public sealed class CustomersJsonTests
{
    [Fact]
    public async Task TheCustomerResponseIsSourceGeneratedAndWritesTheSameBytesAsReflection()
    {
        var host = await ApiHost.SharedAsync();
        var options = host.Services.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        var response = new CustomersApi.CustomerResponse(
            Guid.NewGuid(), "Ada \"Countess\" Lovelace", "ada@example.test", null, "Analytical <Engines>", "active", ["vip", "ünïcode"],
            "line one\nline two", Guid.NewGuid(), new DateTimeOffset(2026, 12, 3, 19, 0, 0, 123, TimeSpan.Zero),
            new DateTimeOffset(2026, 12, 3, 19, 0, 1, TimeSpan.FromHours(2)), 7,
            JsonDocument.Parse("""{"active":true,"industry":"Bäckerei <&>","size":1.5,"since":"2024-02-29"}""").RootElement);

        var typeInfo = options.GetTypeInfo(typeof(CustomersApi.CustomerResponse));
        var generated = JsonSerializer.Serialize(response, options);
        var reflected = JsonSerializer.Serialize(response, WithReflectionOnly(options));

        typeInfo.OriginatingResolver.Should().BeOfType<CustomersJsonContext>();
        generated.Should().Be(reflected);
    }

    /// <summary>The API's options (encoder, naming, …) as they were before: every type through the reflection-based resolver.</summary>
    private static JsonSerializerOptions WithReflectionOnly(JsonSerializerOptions options) =>
        new(options) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };
}
