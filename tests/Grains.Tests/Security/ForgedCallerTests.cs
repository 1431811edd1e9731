using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;
using Orleans.TestingHost;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Security;
using Shohayota.Silo;

namespace Shohayota.Grains.Tests.Security;

/// <summary>
/// A cluster client that reaches a silo's gateway but does not hold the cluster's caller key forges a super-admin:
/// every method of every grain interface refuses it, and the refusals are logged and audited as forged calls.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ForgedCallerTests(ClusterFixture fixture)
{
    public static TheoryData<string> Forgeries => ["no caller", "the old unsigned RequestContext keys", "an unsigned envelope", "an envelope signed with another key", "an expired envelope"];

    [Theory]
    [MemberData(nameof(Forgeries))]
    public async Task AnExternalClientWithoutTheClusterKeyIsRefusedOnEveryGrainMethod(string forgery)
    {
        var victim = await fixture.ProvisionAsync();
        await FlushForgedCallAuditsAsync();
        using var outsider = await ExternalClientAsync();
        var grains = outsider.Services.GetRequiredService<IClusterClient>();
        var served = new List<string>();
        var calls = 0;

        foreach (var (grainInterface, method) in GrainMethods())
        {
            RequestContext.Clear();
            Forge(forgery, victim.Tenant.Id);
            var grain = grains.GetGrain(grainInterface, Key(grainInterface, victim.Tenant.Id));
            var arguments = method.GetParameters().Select(p => p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null).ToArray();
            calls++;
            try
            {
                await (Task)method.Invoke(grain, arguments)!;
                served.Add($"{grainInterface.Name}.{method.Name}: served");
            }
            catch (TenantAccessDeniedException e) when (e.Failure == Failure.Forbidden)
            {
            }
            catch (Exception e)
            {
                served.Add($"{grainInterface.Name}.{method.Name}: {e.GetType().Name} {e.Message}");
            }
        }

        RequestContext.Clear();
        await FlushForgedCallAuditsAsync();
        var audited = await ForgedCallAuditsAsync(victim.Tenant.Id);

        calls.Should().BeGreaterThan(40);
        served.Should().BeEmpty("a caller not signed by the cluster is refused before any grain method runs");
        audited.Sum(a => a["count"]!.GetValue<long>()).Should().BeGreaterThanOrEqualTo(calls);
        ClusterFixture.Logs.Entries.Should().Contain(e => e.EventId.Id == ForgedCallerAudit.ForgedCallerEvent.Id &&
                                                         e.Level == Microsoft.Extensions.Logging.LogLevel.Warning &&
                                                         e.Message.Contains(victim.Tenant.Id.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task AClientHoldingTheClusterKeyIsServed()
    {
        var victim = await fixture.ProvisionAsync();
        using var node = await ExternalClientAsync();
        var grains = node.Services.GetRequiredService<IClusterClient>();
        RequestContext.Clear();
        ClusterFixture.Signer.Enter(new Caller(GrainKeys.SystemTenant, Guid.NewGuid(), Roles.SuperAdmin, "root@tests.local"));

        var tenant = await grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(victim.Tenant.Id)).GetAsync();
        RequestContext.Clear();

        tenant!.Id.Should().Be(victim.Tenant.Id);
    }

    [Fact]
    public async Task AReminderTickSentByAClusterClientIsRefusedEvenWithASignedCaller()
    {
        var victim = await fixture.ProvisionAsync();
        await FlushForgedCallAuditsAsync();
        using var node = await ExternalClientAsync();
        var grains = node.Services.GetRequiredService<IClusterClient>();
        var refused = new List<string>();

        foreach (var grainClass in RemindableGrains())
        {
            RequestContext.Clear();
            ClusterFixture.Signer.EnterSystem();
            var grainType = grainClass.GetCustomAttribute<GrainTypeAttribute>()!.GetGrainType(null!, grainClass);
            var grain = grains.GetGrain(GrainId.Create(grainType, $"{victim.Tenant.Id:D}/tick")).AsReference<IRemindable>();
            try
            {
                await grain.ReceiveReminder("forged", default);
            }
            catch (TenantAccessDeniedException e) when (e.Failure == Failure.Forbidden)
            {
                refused.Add(grainClass.Name);
            }
        }

        RequestContext.Clear();
        await FlushForgedCallAuditsAsync();

        RemindableGrains().Should().NotBeEmpty();
        refused.Should().BeEquivalentTo(RemindableGrains().Select(t => t.Name), "only the reminder service may deliver a tick");
        (await ForgedCallAuditsAsync(victim.Tenant.Id)).Sum(a => a["count"]!.GetValue<long>()).Should().BeGreaterThanOrEqualTo(refused.Count);
    }

    [Fact]
    public async Task OrleansOwnManagementGrainAnswersAClusterClientOnlyForACallerSignedByTheCluster()
    {
        using var outsider = await ExternalClientAsync();
        var management = outsider.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);
        var refused = new List<string>();
        // The hosts, every active grain's id (tenants, users, records), and forced collection, which would drop the
        // sign-in counters the user grains hold in memory.
        foreach (var (name, call) in new (string, Func<Task>)[]
                 {
                     ("GetHosts", () => management.GetHosts(true)),
                     ("GetActiveGrains", async () => await management.GetActiveGrains(GrainType.Create("user"))),
                     ("ForceActivationCollection", () => management.ForceActivationCollection(TimeSpan.FromDays(1))),
                 })
        {
            RequestContext.Clear();
            try
            {
                await call();
            }
            catch (TenantAccessDeniedException e) when (e.Failure == Failure.Forbidden)
            {
                refused.Add(name);
            }
        }

        // A node's front end signs its caller (the health check as the system) and is answered.
        RequestContext.Clear();
        ClusterFixture.Signer.EnterSystem();
        var hosts = await management.GetHosts(true);
        RequestContext.Clear();

        refused.Should().Equal("GetHosts", "GetActiveGrains", "ForceActivationCollection");
        hosts.Should().HaveCount(2);
    }

    [Fact]
    public async Task ARuntimeExtensionOfOurGrainsAnswersAClusterClientOnlyForACallerSignedByTheCluster()
    {
        var victim = await fixture.ProvisionAsync();
        using var outsider = await ExternalClientAsync();
        var grains = outsider.Services.GetRequiredService<IClusterClient>();
        // The victim's user grain holds its sign-in counters in memory: deactivating it at will would reset them.
        var user = grains.GetGrain<Shohayota.Grains.Interfaces.Users.IUserGrain>(GrainKeys.User(victim.Tenant.Id, victim.AdminId))
            .Cast<Orleans.Core.Internal.IGrainManagementExtension>();
        RequestContext.Clear();

        var deactivate = async () => await user.DeactivateOnIdle();

        (await deactivate.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.Forbidden);

        // A node holding the key is served.
        ClusterFixture.Signer.EnterSystem();
        await user.DeactivateOnIdle();
        RequestContext.Clear();
    }

    private static IEnumerable<Type> RemindableGrains() =>
        typeof(CallerSigner).Assembly.GetTypes().Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IRemindable).IsAssignableFrom(t));

    /// <summary>
    /// Every method of every grain interface, public (Grains.Interfaces) and internal (Grains): a new one is covered by
    /// itself. A generic base (<c>IRecordGrain&lt;,&gt;</c>) is called through each grain interface that closes it.
    /// </summary>
    private static IEnumerable<(Type Interface, MethodInfo Method)> GrainMethods() =>
        new[] { typeof(ITenantGrain).Assembly, typeof(CallerSigner).Assembly }
            .SelectMany(a => a.GetTypes())
            .Where(t => t.IsInterface && !t.ContainsGenericParameters && typeof(IGrain).IsAssignableFrom(t) &&
                        t.Namespace?.StartsWith("Shohayota.", StringComparison.Ordinal) == true)
            .SelectMany(t => t.GetMethods().Concat(t.GetInterfaces()
                    .Where(i => i.IsGenericType && i.Namespace?.StartsWith("Shohayota.", StringComparison.Ordinal) == true)
                    .SelectMany(i => i.GetMethods()))
                .Select(m => (Interface: t, Method: m)))
            .OrderBy(p => p.Interface.FullName, StringComparer.Ordinal).ThenBy(p => p.Method.Name, StringComparer.Ordinal);

    private static string Key(Type grainInterface, Guid tenant) =>
        typeof(ITenantGrainKey).IsAssignableFrom(grainInterface) ? GrainKeys.Tenant(tenant) : $"{tenant:D}/forged/{Guid.NewGuid():D}";

    private static void Forge(string forgery, Guid victim)
    {
        var superAdmin = new Caller(GrainKeys.SystemTenant, Guid.NewGuid(), Roles.SuperAdmin, "forger@outside.test");
        switch (forgery)
        {
            case "no caller":
                break;
            case "the old unsigned RequestContext keys":
                RequestContext.Set("sh-tenant", GrainKeys.SystemTenant);
                RequestContext.Set("sh-user", superAdmin.UserId);
                RequestContext.Set("sh-role", Roles.SuperAdmin);
                RequestContext.Set("sh-admitted", victim);
                break;
            case "an unsigned envelope":
                RequestContext.Set(Caller.ContextKey, new SignedCaller(superAdmin, victim, null, DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeMilliseconds(), 0, []));
                break;
            case "an envelope signed with another key":
                RequestContext.Set(Caller.ContextKey, new CallerSigner([System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)], TimeSpan.FromMinutes(5))
                    .Sign(superAdmin, victim));
                break;
            case "an expired envelope":
                // A node's envelope captured an hour ago and replayed.
                var anHourAgo = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(-1));
                RequestContext.Set(Caller.ContextKey, new CallerSigner([Convert.FromBase64String(ClusterFixture.CallerKey)], CallerSigner.DefaultLifetime, anHourAgo)
                    .Sign(superAdmin, victim));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(forgery), forgery, null);
        }
    }

    /// <summary>A cluster client of its own, connected to the silos' gateways like any process on the cluster network.</summary>
    private async Task<IHost> ExternalClientAsync()
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var gateways = fixture.Cluster.Silos.Select(s => s.GatewayAddress.Endpoint).ToArray();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = fixture.Cluster.Options.ClusterId;
                o.ServiceId = fixture.Cluster.Options.ServiceId;
            });
            client.UseStaticClustering(gateways);
            client.Services.AddShohayotaExceptionSerialization();
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private async Task FlushForgedCallAuditsAsync()
    {
        foreach (var silo in fixture.Cluster.Silos.Cast<InProcessSiloHandle>())
        {
            await silo.SiloHost.Services.GetRequiredService<ForgedCallerAudit>().FlushAsync();
        }
    }

    private async Task<List<JsonNode>> ForgedCallAuditsAsync(Guid victim)
    {
        ClusterFixture.AsSuperAdmin();
        var page = await fixture.Grains.GetGrain<IAuditQueryGrain>(GrainKeys.AuditQuery(GrainKeys.SystemTenant))
            .ListAsync(new AuditQuery(ForgedCallerAudit.Action, null, null, null, null, null, 100, null));
        RequestContext.Clear();
        return page.Items
            .Where(e => e.TargetId?.Contains(victim.ToString(), StringComparison.Ordinal) == true && e.Outcome == AuditOutcomes.Denied)
            .Select(e => JsonNode.Parse(e.Details!)!)
            .ToList();
    }
}
