using System.Text.Json;
using System.Text.Json.Serialization;

namespace Shohayota.Api.Customers;

/// <summary>
/// Source-generated JSON metadata for the customer responses (the hot read, S1), with the web defaults the API's options
/// use (camelCase): the same bytes as the reflection-based serializer, without its per-type reflection work.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CustomersApi.CustomerResponse))]
public sealed partial class CustomersJsonContext : JsonSerializerContext;

public static class CustomersJsonExtensions
{
    /// <summary>First in the API's resolver chain; every other type still goes to the reflection-based resolver after it.</summary>
    public static WebApplicationBuilder AddCustomersJson(this WebApplicationBuilder builder)
    {
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, CustomersJsonContext.Default));
        return builder;
    }
}
