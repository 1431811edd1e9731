using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Shohayota.Grains.Hosting;
using Shohayota.Silo.Hosting;

namespace Shohayota.Silo;

/// <summary>
/// How long a node may take to leave after SIGTERM (<c>Shohayota:Cluster:ShutdownTimeout</c>, 15 s by default) and the
/// membership settings of <c>Shohayota:Cluster:Membership</c>, both checked before the node starts.
/// </summary>
public static class ClusterShutdown
{
    /// <summary>Orchestrators kill a container 10 to 30 s after SIGTERM; a node leaves well inside that.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    /// <summary>The exit code of a node whose shutdown did not finish in time (see <see cref="ShutdownWatchdog"/>).</summary>
    public const int AbandonedExitCode = 3;

    public const string TimeoutKey = $"{ShohayotaClusterOptions.SectionName}:{nameof(ShohayotaClusterOptions.ShutdownTimeout)}";

    private static readonly TimeSpan MinimumTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The cluster section as configured, its shutdown timeout and membership settings checked.</summary>
    /// <exception cref="StartupRefusedException">A value out of its range.</exception>
    public static ShohayotaClusterOptions Read(IConfiguration configuration)
    {
        ShohayotaClusterOptions options;
        try
        {
            options = configuration.GetSection(ShohayotaClusterOptions.SectionName).Get<ShohayotaClusterOptions>() ?? new();
        }
        catch (InvalidOperationException e)
        {
            throw new StartupRefusedException($"{ShohayotaClusterOptions.SectionName} has a value that is not of its type: {e.InnerException?.Message ?? e.Message}", e);
        }

        var problems = Check(options).ToList();
        if (problems.Count > 0)
        {
            throw new StartupRefusedException(string.Join(" ", problems));
        }

        return options;
    }

    /// <summary>
    /// The host stops its services (HTTP, the silo) cooperatively until the watchdog's deadline, one second before the
    /// bound: what has not stopped by then is cancelled.
    /// </summary>
    public static TimeSpan HostTimeout(TimeSpan timeout) => timeout - ShutdownWatchdog.ExitAllowance - TimeSpan.FromSeconds(1);

    /// <summary>The host's stop timeout and the watchdog that ends the process at the bound, for both kinds of host.</summary>
    public static IServiceCollection AddShohayotaShutdown(this IServiceCollection services, ShohayotaClusterOptions cluster)
    {
        services.Configure<HostOptions>(o => o.ShutdownTimeout = HostTimeout(cluster.ShutdownTimeout));
        services.AddSingleton(new ShutdownWatchdog.Settings(cluster.ShutdownTimeout));
        services.TryAddSingleton<ShutdownProgress>();
        // First registered, so it is armed before any other hosted service starts stopping.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, ShutdownWatchdog>());
        return services;
    }

    /// <summary>Orleans' membership options from ours (see <see cref="MembershipSettings"/>).</summary>
    public static void Apply(MembershipSettings settings, ClusterMembershipOptions o)
    {
        o.ProbeTimeout = settings.ProbeTimeout;
        o.NumMissedProbesLimit = settings.NumMissedProbesLimit;
        o.NumVotesForDeathDeclaration = settings.NumVotesForDeathDeclaration;
        o.DeathVoteExpirationTimeout = settings.DeathVoteExpirationTimeout;
        o.TableRefreshTimeout = settings.TableRefreshTimeout;
        o.IAmAliveTablePublishTimeout = settings.IAmAliveTablePublishTimeout;
        o.EnableIndirectProbes = settings.EnableIndirectProbes;
    }

    private static IEnumerable<string> Check(ShohayotaClusterOptions options)
    {
        const string membership = MembershipSettings.SectionName;
        var m = options.Membership;
        if (options.ShutdownTimeout < MinimumTimeout || options.ShutdownTimeout > TimeSpan.FromMinutes(10))
        {
            yield return $"{TimeoutKey} must be between 00:00:05 and 00:10:00 (it is {options.ShutdownTimeout}).";
        }

        if (m.ProbeTimeout < TimeSpan.FromMilliseconds(500) || m.ProbeTimeout > TimeSpan.FromMinutes(1))
        {
            yield return $"{membership}:{nameof(m.ProbeTimeout)} must be between 00:00:00.5 and 00:01:00 (it is {m.ProbeTimeout}).";
        }

        if (m.NumMissedProbesLimit is < 2 or > 10)
        {
            yield return $"{membership}:{nameof(m.NumMissedProbesLimit)} must be between 2 and 10 (it is {m.NumMissedProbesLimit}).";
        }

        if (m.NumVotesForDeathDeclaration is < 1 or > 10)
        {
            yield return $"{membership}:{nameof(m.NumVotesForDeathDeclaration)} must be between 1 and 10 (it is {m.NumVotesForDeathDeclaration}).";
        }

        // A vote must live at least as long as the probes that lead to the next silo's vote.
        var detection = m.ProbeTimeout * 4 * m.NumMissedProbesLimit;
        if (m.DeathVoteExpirationTimeout < detection || m.DeathVoteExpirationTimeout > TimeSpan.FromHours(1))
        {
            yield return $"{membership}:{nameof(m.DeathVoteExpirationTimeout)} must be between {detection} (4 x ProbeTimeout x NumMissedProbesLimit) " +
                         $"and 01:00:00 (it is {m.DeathVoteExpirationTimeout}).";
        }

        if (m.TableRefreshTimeout < TimeSpan.FromSeconds(1) || m.TableRefreshTimeout > TimeSpan.FromMinutes(10))
        {
            yield return $"{membership}:{nameof(m.TableRefreshTimeout)} must be between 00:00:01 and 00:10:00 (it is {m.TableRefreshTimeout}).";
        }

        if (m.IAmAliveTablePublishTimeout < TimeSpan.FromSeconds(1) || m.IAmAliveTablePublishTimeout > TimeSpan.FromMinutes(10))
        {
            yield return $"{membership}:{nameof(m.IAmAliveTablePublishTimeout)} must be between 00:00:01 and 00:10:00 (it is {m.IAmAliveTablePublishTimeout}).";
        }
    }
}
