using Shohayota.Api.Activities;
using Shohayota.Api.ApiKeys;
using Shohayota.Api.Audit;
using Shohayota.Api.Auth;
using Shohayota.Api.Backups;
using Shohayota.Api.Cluster;
using Shohayota.Api.Contacts;
using Shohayota.Api.CustomFields;
using Shohayota.Api.Customers;
using Shohayota.Api.Deals;
using Shohayota.Api.Diagnostics;
using Shohayota.Api.Errors;
using Shohayota.Api.Health;
using Shohayota.Api.Metrics;
using Shohayota.Api.Quotas;
using Shohayota.Api.Records;
using Shohayota.Api.Support;
using Shohayota.Api.Tenants;
using Shohayota.Api.Users;
using Shohayota.Api.Web;
using Shohayota.Api.Webhooks;
using Shohayota.Silo.Database;

namespace Shohayota.Api.Hosting;

/// <summary>The whole front end as a table of contents; Program runs it, the tests host it on a free port.</summary>
public static class ShohayotaApp
{
    public static async Task<WebApplication> BuildAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // The application is Shohayota.Api wherever it is hosted (tests host it in their own process): static web assets
        // and data protection are found by that name.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ApplicationName = typeof(ShohayotaApp).Assembly.GetName().Name });
        configure?.Invoke(builder);
        try
        {
            await builder.AddShohayotaClusterAsync();
            return Build(builder);
        }
        catch
        {
            // A configuration refused after the managed PostgreSQL started (the cluster's TLS files, a key…): stop it, so no
            // server is left running behind an exit code 1 with its port and memory.
            if (builder.Services.LastOrDefault(d => d.ServiceType == typeof(ManagedPostgres))?.ImplementationInstance is ManagedPostgres managed)
            {
                try
                {
                    await managed.DisposeAsync();
                }
                catch (Exception stopping)
                {
                    // The first failure is the one to report; this one only adds a line.
                    await Console.Error.WriteLineAsync($"Could not stop the managed PostgreSQL after the failed start: {stopping.Message}");
                }
            }

            throw;
        }
    }

    private static WebApplication Build(WebApplicationBuilder builder)
    {
        builder.AddShohayotaErrors();
        builder.AddShohayotaAuth();
        builder.AddShohayotaTelemetry();
        builder.AddShohayotaMetrics();
        builder.AddShohayotaHealth();
        builder.AddShohayotaTraffic();
        builder.AddShohayotaWeb();
        builder.AddShohayotaTrustedProxies();
        builder.AddShohayotaHeavyRoutes();
        builder.AddRecordsJson();
        builder.AddShohayotaAdmission();
        builder.AddShohayotaApiDocument();
        // The routes check a webhook's URL by the same rules as the silos (client-mode front ends host no silo).
        builder.Services.AddOptions<Grains.Webhooks.WebhookOptions>().BindConfiguration(Grains.Webhooks.WebhookOptions.SectionName);

        var app = builder.Build();
        // Outermost: every line of a request carries its tenant and trace id, and the request's own line its final status.
        app.UseShohayotaRequestLogging();
        // Before anything reads the client's address.
        app.UseShohayotaTrustedProxies();
        // Then metering, so it sees the final status of every request, including errors turned into problems.
        app.UseTrafficMetering();
        app.UseShohayotaErrors();
        app.UseRequestOrigin();
        app.UseAuthentication();
        // Before authorization, so a role policy's 403 is audited like an endpoint's.
        app.UseDeniedRequestAudit();
        app.UseAuthorization();
        // Innermost: a read that met a dead silo is tried once more (the endpoint only).
        app.UseReadRetry();

        app.MapHealthApi();
        app.MapAuthApi();
        app.MapSessionsApi();
        app.MapUsersApi();
        app.MapApiKeysApi();
        app.MapWebhooksApi();
        app.MapSupportApi();
        app.MapAdminTenantsApi();
        app.MapCustomersApi();
        app.MapContactsApi();
        app.MapDealsApi();
        app.MapCustomFieldsApi();
        app.MapActivitiesApi();
        app.MapImportsApi();
        app.MapDiagnosticsApi();
        app.MapAuditApi();
        app.MapQuotasApi();
        app.MapMetricsApi();
        app.MapBackupsApi();
        app.MapClusterApi();
        app.MapBenchmarkApi();
        app.MapShohayotaApiDocument();
        app.MapShohayotaWeb();
        return app;
    }
}
