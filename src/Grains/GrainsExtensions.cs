using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Polly;
using Shohayota.Grains.Database;
using Shohayota.Grains.Tenants;
using Shohayota.Grains.Users;

namespace Shohayota.Grains;

public static class GrainsExtensions
{
    /// <summary>Services the grains need: the runtime-role data source, time, and options.</summary>
    public static IServiceCollection AddShohayotaGrainServices(this IServiceCollection services, string appConnectionString)
    {
        services.AddSingleton(_ => RuntimeDataSource(appConnectionString));
        services.TryAddSingleton<TenantDatabase>();
        services.AddKeyedSingleton(TenantDatabase.Searches, (_, _) => SearchDataSource(appConnectionString));
        services.TryAddKeyedSingleton(TenantDatabase.Searches, (provider, key) => new TenantDatabase(provider.GetRequiredKeyedService<NpgsqlDataSource>(key)));
        services.AddOptions<Customers.SearchOptions>().BindConfiguration(Customers.SearchOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<Customers.CommonTrigrams>();
        services.AddOptions<QueryGateOptions>().BindConfiguration(QueryGateOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<TenantQueryGate>();
        services.AddSingleton<Audit.AuditWriterHealth>();
        services.TryAddSingleton<Audit.AuditMaintenance>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<TenantOptions>().BindConfiguration(TenantOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<Diagnostics.IsolationOptions>().BindConfiguration(Diagnostics.IsolationOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<Audit.AuditOptions>().BindConfiguration(Audit.AuditOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<Audit.BenchmarkOptions>().BindConfiguration(Audit.BenchmarkOptions.SectionName);
        services.AddHostedService<Audit.BenchmarkSwitchWarning>();
        services.AddOptions<Quotas.PlansOptions>().Configure(o => o.AddDefaults()).BindConfiguration(Quotas.PlansOptions.SectionName);
        services.AddOptions<Quotas.MeteringOptions>().BindConfiguration(Quotas.MeteringOptions.SectionName);
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddPasswordHashGate();
        services.AddWebhookDelivery();
        return services;
    }

    /// <summary>
    /// Webhook delivery on this silo: the options, the secrets' box, the <c>webhooks</c> HTTP client (the SSRF guard as its
    /// connection handler, no redirects, a timeout through the resilience pipeline; retries are the delivery schedule's,
    /// not the client's) and the dispatcher that sends due deliveries.
    /// </summary>
    private static void AddWebhookDelivery(this IServiceCollection services)
    {
        services.AddOptions<Webhooks.WebhookOptions>().BindConfiguration(Webhooks.WebhookOptions.SectionName).ValidateDataAnnotations()
            .Validate(o => o.ClaimLease > o.Timeout + o.PollInterval,
                "Shohayota:Webhooks:ClaimLease must be longer than Timeout and PollInterval together: a claim that lapses while its node still sends is sent twice.")
            .ValidateOnStart();
        services.TryAddSingleton<Webhooks.WebhookSecretBox>();
        services.AddHttpClient(Webhooks.WebhookDispatcher.ClientName)
            .ConfigurePrimaryHttpMessageHandler(provider =>
                Webhooks.WebhookTargets.GuardedHandler(provider.GetRequiredService<IOptions<Webhooks.WebhookOptions>>().Value.AllowInsecureLocalTargets))
            .AddResilienceHandler("webhook-delivery", (pipeline, context) =>
                pipeline.AddTimeout(context.ServiceProvider.GetRequiredService<IOptions<Webhooks.WebhookOptions>>().Value.Timeout));
        services.AddHostedService<Webhooks.WebhookDispatcher>();
    }

    /// <summary>
    /// The runtime role's connection string, tuned unless the operator's string sets the key itself:
    /// <list type="bullet">
    /// <item><c>Max Auto Prepare=64</c>: the role's statements are few and run all the time (a list page, a tenant's
    /// activation, a usage flush); Npgsql prepares the 64 most used per connection after 5 uses, so PostgreSQL stops
    /// planning them on every call (under row-level security planning was most of a cold tenant's cost).</item>
    /// <item><c>No Reset On Close=true</c>: otherwise every reuse of a pooled connection that holds prepared statements
    /// first runs seven reset statements (<c>CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *;
    /// …</c>), PostgreSQL work on every request. Nothing this role runs leaves session state: the tenant and every other
    /// setting are transaction-local (<c>set_config(…, true)</c>, <see cref="Database.TenantDatabase"/>), an unfinished
    /// transaction is still rolled back when a connection returns to the pool, and
    /// <c>TenantTransactionTests</c> checks each kind of batch leaves nothing on its connection.</item>
    /// </list>
    /// </summary>
    public static string RuntimeConnectionString(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        bool Has(string key) => given.Keys.Cast<string>().Any(k => k.Replace(" ", "", StringComparison.Ordinal).Equals(key, StringComparison.OrdinalIgnoreCase));
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!Has("MaxAutoPrepare"))
        {
            builder.MaxAutoPrepare = 64;
        }

        if (!Has("NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }

        return builder.ConnectionString;
    }

    /// <summary>The runtime role's data source for everything but searches (its name labels its pool in the metrics).</summary>
    public static NpgsqlDataSource RuntimeDataSource(string appConnectionString) => DataSource(appConnectionString, RuntimePoolName, int.MaxValue);

    /// <summary>
    /// The runtime role's second data source, for the query grains' searches only (<see cref="TenantDatabase.Searches"/>), at
    /// most <see cref="SearchPoolSize"/> connections. Npgsql hands out a pool's idle connections oldest first, so once a
    /// burst of plain pages had grown the shared pool to 64, every search ran on the least recently used of 64 PostgreSQL
    /// backends, cold in the CPU's caches and preparing its statements again (a search's PostgreSQL CPU doubled). With a
    /// pool of their own, searches keep to the few backends that ran the last searches whatever the pages do, and a flood of
    /// searches cannot take every connection from the pages.
    /// </summary>
    public static NpgsqlDataSource SearchDataSource(string appConnectionString) => DataSource(appConnectionString, SearchPoolName, SearchPoolSize);

    private static NpgsqlDataSource DataSource(string appConnectionString, string name, int mostConnections)
    {
        var builder = new NpgsqlDataSourceBuilder(RuntimeConnectionString(appConnectionString)) { Name = name };
        var pool = builder.ConnectionStringBuilder;
        if (pool.MaxPoolSize > mostConnections)
        {
            pool.MaxPoolSize = mostConnections;
            pool.MinPoolSize = Math.Min(pool.MinPoolSize, mostConnections);
        }

        return builder.Build();
    }

    /// <summary>The search pool's most connections: four per core (a tenant's searches run one per core at once, <see cref="TenantQueryGate"/>).</summary>
    public static int SearchPoolSize => 4 * Environment.ProcessorCount;

    /// <summary>The pools' names in Npgsql's metrics (<c>db_client_connection_count{db_client_connection_pool_name=…}</c>).</summary>
    public const string RuntimePoolName = "shohayota", SearchPoolName = "shohayota-search";

    /// <summary>The sign-in limits and this process's one password-hash gate (silo hosts and client-mode front ends).</summary>
    public static IServiceCollection AddPasswordHashGate(this IServiceCollection services)
    {
        services.AddOptions<SignInLimitsOptions>().BindConfiguration(SignInLimitsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<Security.PasswordHashGate>();
        return services;
    }
}
