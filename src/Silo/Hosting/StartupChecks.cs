using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Hosting;

namespace Shohayota.Silo.Hosting;

/// <summary>What a node refuses to start with, checked first thing (before the database or any port): see <see cref="StartupRefusedException"/>.</summary>
public static class StartupChecks
{
    /// <summary>The host environment (ASPNETCORE_ENVIRONMENT / DOTNET_ENVIRONMENT) of a benchmark run; bench/run.sh sets it.</summary>
    public const string BenchmarkEnvironment = "Benchmark";

    public const string AdmissionEnforceKey = "Shohayota:Admission:Enforce";
    public const string AuditOffKey = $"{BenchmarkOptions.SectionName}:{nameof(BenchmarkOptions.AuditOff)}";

    /// <param name="hostsSilo">False for a cluster client (its gateways are checked as it reads them).</param>
    public static void Run(IConfiguration configuration, IHostEnvironment environment, bool hostsSilo)
    {
        CheckBenchmarkSwitches(configuration, environment);
        // The shutdown bound and the membership settings: refused here, before the database or any port.
        ClusterShutdown.Read(configuration);
        if (hostsSilo)
        {
            TransportSecurity.CheckSilo(configuration);
        }
    }

    /// <summary>Switches that measure what admission and the audit log cost run in a benchmark only, never in production.</summary>
    public static void CheckBenchmarkSwitches(IConfiguration configuration, IHostEnvironment environment)
    {
        if (environment.IsEnvironment(BenchmarkEnvironment))
        {
            return;
        }

        var on = new List<string>();
        if (bool.TryParse(configuration[AdmissionEnforceKey], out var enforce) && !enforce)
        {
            on.Add($"{AdmissionEnforceKey}=false (admits every request without asking its tenant)");
        }

        if (bool.TryParse(configuration[AuditOffKey], out var auditOff) && auditOff)
        {
            on.Add($"{AuditOffKey}=true (customer changes without audit entries)");
        }

        if (on.Count > 0)
        {
            throw new StartupRefusedException(
                $"Benchmark-only setting {string.Join(" and ", on)} refused: the host environment is '{environment.EnvironmentName}', not " +
                $"'{BenchmarkEnvironment}'. Remove the setting; only a benchmark run (bench/run.sh, ASPNETCORE_ENVIRONMENT or DOTNET_ENVIRONMENT={BenchmarkEnvironment}) may use it.");
        }
    }
}
