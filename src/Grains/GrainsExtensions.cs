using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Shohayota.Grains.Database;
using Shohayota.Grains.Tenants;
using Shohayota.Grains.Users;

namespace Shohayota.Grains;

public static class GrainsExtensions
{
    /// <summary>Services the grains need: the runtime-role data source, time, and options.</summary>
    public static IServiceCollection AddShohayotaGrainServices(this IServiceCollection services, string appConnectionString)
    {
        services.AddSingleton(_ => NpgsqlDataSource.Create(WithAutoPrepare(appConnectionString)));
        services.TryAddSingleton<TenantDatabase>();
        services.AddOptions<Customers.SearchOptions>().BindConfiguration(Customers.SearchOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<Customers.CommonTrigrams>();
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
        return services;
    }

    /// <summary>
    /// The runtime role's statements are few and run all the time (a list page, a tenant's activation, a usage flush):
    /// unless the connection string says otherwise, Npgsql prepares the 64 most used per connection after 5 uses, so
    /// PostgreSQL stops planning them on every call (under row-level security planning was most of a cold tenant's cost).
    /// </summary>
    public static string WithAutoPrepare(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (given.Keys.Cast<string>().Any(k => k.Replace(" ", "", StringComparison.Ordinal).Equals("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase)))
        {
            return connectionString;
        }

        return new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 64 }.ConnectionString;
    }

    /// <summary>The sign-in limits and this process's one password-hash gate (silo hosts and client-mode front ends).</summary>
    public static IServiceCollection AddPasswordHashGate(this IServiceCollection services)
    {
        services.AddOptions<SignInLimitsOptions>().BindConfiguration(SignInLimitsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<Security.PasswordHashGate>();
        return services;
    }
}
