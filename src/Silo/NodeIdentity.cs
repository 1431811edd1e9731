using Microsoft.Extensions.Configuration;
using Npgsql;
using Shohayota.Silo.Database;

namespace Shohayota.Silo;

/// <summary>
/// The name of this node (a process: Api with silo, standalone silo or cluster client), used as the Orleans silo name
/// and as PostgreSQL's <c>application_name</c>, so an operator can tell nodes apart in membership and in pg_stat_activity.
/// </summary>
public static class NodeIdentity
{
    public const string ApplicationNamePrefix = "shohayota/";

    /// <summary>
    /// Gives the node a name (Shohayota:Cluster:SiloName, or host and process id) and tags the runtime connection string
    /// with it; call after <see cref="DatabaseSetup.PrepareAsync"/> and before the silo or client is configured.
    /// </summary>
    public static string Apply(IConfiguration configuration)
    {
        var key = $"{ShohayotaClusterOptions.SectionName}:{nameof(ShohayotaClusterOptions.SiloName)}";
        var name = configuration[key];
        if (string.IsNullOrWhiteSpace(name))
        {
            name = $"{Environment.MachineName}-{Environment.ProcessId}";
            configuration[key] = name;
        }

        var connectionKey = $"ConnectionStrings:{DatabaseSetup.ConnectionStringName}";
        if (configuration[connectionKey] is { Length: > 0 } connectionString)
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            if (string.IsNullOrEmpty(builder.ApplicationName))
            {
                builder.ApplicationName = ApplicationName(name);
                configuration[connectionKey] = builder.ConnectionString;
            }
        }

        return name;
    }

    /// <summary>PostgreSQL keeps 63 bytes of an application name.</summary>
    public static string ApplicationName(string nodeName)
    {
        var full = ApplicationNamePrefix + nodeName;
        return full.Length <= 63 ? full : full[..63];
    }
}
