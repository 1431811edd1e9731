using System.Text.Json;
using System.Text.Json.Serialization;
using Shohayota.Api.Activities;
using Shohayota.Api.Contacts;
using Shohayota.Api.Customers;
using Shohayota.Api.Deals;

namespace Shohayota.Api.Records;

/// <summary>
/// Source-generated JSON metadata for the records' responses and list pages (the hot read S1, the list pages S3, S11,
/// S13), with the web defaults the API's options use (camelCase): the same bytes as the reflection-based serializer,
/// without its per-type reflection work.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CustomersApi.CustomerResponse))]
[JsonSerializable(typeof(CustomersApi.CustomerList))]
[JsonSerializable(typeof(ContactsApi.ContactResponse))]
[JsonSerializable(typeof(ContactsApi.ContactList))]
[JsonSerializable(typeof(DealsApi.DealResponse))]
[JsonSerializable(typeof(DealsApi.DealList))]
[JsonSerializable(typeof(ActivitiesApi.ActivityResponse))]
[JsonSerializable(typeof(ActivitiesApi.ActivityList))]
public sealed partial class RecordsJsonContext : JsonSerializerContext;

public static class RecordsJsonExtensions
{
    /// <summary>First in the API's resolver chain; every other type still goes to the reflection-based resolver after it.</summary>
    public static WebApplicationBuilder AddRecordsJson(this WebApplicationBuilder builder)
    {
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, RecordsJsonContext.Default));
        return builder;
    }
}
