using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Runtime;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Quotas;
using Shohayota.Grains.Security;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Quotas;

/// <summary>
/// A quiet tenant's grain looks at its usage only every IdleFlushInterval (an hour here), and any call brings it back
/// to the flush interval: usage counted after a quiet spell is written as promptly as before.
/// </summary>
public sealed class IdleFlushTests(IdleFlushHost fixture) : IClassFixture<IdleFlushHost>
{
    [Fact]
    public async Task ACallAfterAQuietSpellIsWrittenWithinTheFlushIntervalNotTheIdleOne()
    {
        var host = fixture.Host;
        var tenant = await host.ProvisionTenantAsync();
        var grain = host.Services.GetRequiredService<IGrainFactory>().GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant.Id));

        await AdmitAsync(host, grain, tenant.Admin);
        (await WrittenCallsAsync(host, tenant.Id, atLeast: 1)).Should().Be(1);
        // Quiet: written, no open alert, no expiring override; any node lease (sign-in) long expired with its grace.
        await Task.Delay(TimeSpan.FromSeconds(12));

        await AdmitAsync(host, grain, tenant.Admin);

        (await WrittenCallsAsync(host, tenant.Id, atLeast: 2)).Should().Be(2, "the call woke the flush timer from its hour-long idle period");
    }

    private static async Task AdmitAsync(ApiHost host, ITenantGrain grain, Session admin)
    {
        var user = Guid.Parse(admin.Body["user"]!["id"]!.GetValue<string>());
        host.Services.GetRequiredService<CallerSigner>().EnterSystem();
        try
        {
            (await grain.AdmitAsync(user, write: false)).Allowed.Should().BeTrue();
        }
        finally
        {
            RequestContext.Clear();
        }
    }

    /// <summary>This month's API calls as written, once they reach <paramref name="atLeast"/> (or after 5 s).</summary>
    private static async Task<long> WrittenCallsAsync(ApiHost host, Guid tenant, long atLeast)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
            await connection.OpenAsync();
            await using var read = new NpgsqlCommand("SELECT coalesce(sum(api_calls), 0) FROM tenant_usage_metrics WHERE tenant_id = $1 AND period = 'month'", connection);
            read.Parameters.Add(new NpgsqlParameter { Value = tenant });
            var calls = Convert.ToInt64(await read.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
            if (calls >= atLeast || DateTime.UtcNow > deadline)
            {
                return calls;
            }

            await Task.Delay(100);
        }
    }
}

public sealed class IdleFlushHost : IAsyncLifetime
{
    public ApiHost Host { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Host = await ApiHost.StartAsync(await TestDatabase.SharedAsync(), services => services
            .PostConfigure<MeteringOptions>(o => (o.FlushInterval, o.IdleFlushInterval) = (TimeSpan.FromMilliseconds(300), TimeSpan.FromHours(1))));

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
