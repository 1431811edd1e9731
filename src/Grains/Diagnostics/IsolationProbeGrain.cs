using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Interfaces.Diagnostics;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Diagnostics;

[GrainType("isolation-probe")]
public sealed class IsolationProbeGrain(
    TenantDatabase database,
    TimeProvider time,
    CallerSigner signer,
    IOptions<IsolationOptions> options,
    ILogger<IsolationProbeGrain> logger) : Grain, IIsolationProbeGrain
{
    /// <summary>The two internal probe tenants; they have no registry row, users or sign-in.</summary>
    public static readonly Guid ProbeTenantA = Guid.Parse("00000000-0000-0000-0000-00000000a001");
    public static readonly Guid ProbeTenantB = Guid.Parse("00000000-0000-0000-0000-00000000a002");
    private static readonly Guid ProbeCustomerA = Guid.Parse("00000000-0000-0000-0000-00000000c001");
    private static readonly Guid ProbeCustomerB = Guid.Parse("00000000-0000-0000-0000-00000000c002");

    private IsolationReport? _last;

    /// <summary>Whether a (signed) caller is one of the probe's own tenants, whose refusals are expected.</summary>
    public static bool IsProbeTenant(Guid tenant) => tenant == ProbeTenantA || tenant == ProbeTenantB;

    private bool _everLeaked;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A timer, not a reminder: the probe only matters while a silo serves; the next activation restarts it.
        this.RegisterGrainTimer(_ => RunAsync(), new GrainTimerCreationOptions(TimeSpan.Zero, options.Value.ProbeInterval) { Interleave = false });
        return Task.CompletedTask;
    }

    public Task<IsolationReport?> GetLastAsync() => Task.FromResult(_last);

    public async Task<IsolationReport> RunAsync()
    {
        var started = Stopwatch.GetTimestamp();
        var checks = new List<ProbeCheck>();
        long foreign = 0;

        await EnsureProbeRowsAsync();
        var (tables, closed, role, superuser, bypass, ownsTables) = await ReadCatalogAsync();
        // Owner-only tables (audit maintenance grants, settings) the runtime role cannot read at all: nothing to count.
        checks.AddRange(closed.Select(table => new ProbeCheck("database", $"{table} closed to {role}", true, "no SELECT privilege")));
        var readable = tables.Where(t => !closed.Contains(t.Table)).ToList();

        foreach (var (self, other) in new[] { (ProbeTenantA, ProbeTenantB), (ProbeTenantB, ProbeTenantA) })
        {
            await using var transaction = await database.BeginAsync(self);
            foreach (var table in readable)
            {
                await using var count = transaction.Command($"SELECT count(*) FROM \"{table.Table}\" WHERE tenant_id <> $1", self);
                var seen = (long)(await count.ExecuteScalarAsync())!;
                foreign += seen;
                checks.Add(new ProbeCheck("database", $"{table.Table} as {Short(self)}", seen == 0, $"{seen} foreign rows visible"));
            }

            await using var own = transaction.Command("SELECT count(*) FROM customers WHERE id = $1", self == ProbeTenantA ? ProbeCustomerA : ProbeCustomerB);
            var ownRows = (long)(await own.ExecuteScalarAsync())!;
            checks.Add(new ProbeCheck("database", $"own customer as {Short(self)}", ownRows == 1, $"{ownRows} own rows visible (control)"));

            checks.Add(await ProbeGrainAsync(self, other));
        }

        await using (var noTenant = await database.DataSource.OpenConnectionAsync())
        {
            foreach (var table in readable)
            {
                await using var count = new NpgsqlCommand($"SELECT count(*) FROM \"{table.Table}\"", noTenant);
                var seen = (long)(await count.ExecuteScalarAsync())!;
                foreign += seen;
                checks.Add(new ProbeCheck("database", $"{table.Table} with no tenant set", seen == 0, $"{seen} rows visible"));
            }
        }

        _everLeaked |= foreign > 0 || checks.Any(c => c.Layer == "grain" && !c.Passed);
        _last = new IsolationReport(tables, role, superuser, bypass, ownsTables, time.Now(), Stopwatch.GetElapsedTime(started), checks, foreign, _everLeaked);
        if (!_last.Healthy)
        {
            logger.LogCritical("Security: the isolation probe failed: {Failed}", string.Join("; ", checks.Where(c => !c.Passed).Select(c => $"{c.Layer} {c.Name}: {c.Detail}")));
        }

        return _last;
    }

    private async Task<ProbeCheck> ProbeGrainAsync(Guid self, Guid other)
    {
        var target = GrainFactory.GetGrain<ICustomerGrain>(GrainKeys.Customer(other, other == ProbeTenantA ? ProbeCustomerA : ProbeCustomerB));
        try
        {
            RequestContext.Clear();
            signer.Enter(new Caller(self, Guid.Empty, Roles.Member, null), admittedTenant: self);
            var leaked = await target.GetAsync();
            return new ProbeCheck("grain", $"{Short(self)} reads {Short(other)}'s customer", leaked is null,
                leaked is null ? "answered as missing" : "THE FOREIGN CUSTOMER WAS RETURNED");
        }
        catch (TenantAccessDeniedException)
        {
            return new ProbeCheck("grain", $"{Short(self)} reads {Short(other)}'s customer", true, "refused by the grain-call filter");
        }
        finally
        {
            RequestContext.Clear();
        }
    }

    private async Task EnsureProbeRowsAsync()
    {
        foreach (var (tenant, customer) in new[] { (ProbeTenantA, ProbeCustomerA), (ProbeTenantB, ProbeCustomerB) })
        {
            await using var transaction = await database.BeginAsync(tenant);
            await transaction.ExecuteAsync(
                """
                INSERT INTO customers (tenant_id, id, name, status, created_at, updated_at, version)
                VALUES ($1, $2, 'isolation probe', 'lead', now(), now(), 1)
                ON CONFLICT (tenant_id, id) DO NOTHING
                """,
                tenant, customer);
            await transaction.CommitAsync();
        }
    }

    private async Task<(List<TableIsolation> Tables, HashSet<string> Closed, string Role, bool Superuser, bool Bypass, bool OwnsTables)> ReadCatalogAsync()
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var tables = new List<TableIsolation>();
        var closed = new HashSet<string>(StringComparer.Ordinal);
        await using (var read = new NpgsqlCommand(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)::int, pg_get_userbyid(c.relowner),
                   has_table_privilege(c.oid, 'SELECT')
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()
              AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
            ORDER BY c.relname
            """,
            connection))
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(new TableIsolation(reader.GetString(0), reader.GetBoolean(1), reader.GetBoolean(2), reader.GetInt32(3), reader.GetString(4)));
                if (!reader.GetBoolean(5))
                {
                    closed.Add(reader.GetString(0));
                }
            }
        }

        await using var role = new NpgsqlCommand(
            """
            SELECT current_user, r.rolsuper, r.rolbypassrls,
                   EXISTS (SELECT 1 FROM pg_class c WHERE c.relowner = r.oid)
            FROM pg_roles r WHERE r.rolname = current_user
            """,
            connection);
        await using var roleReader = await role.ExecuteReaderAsync();
        await roleReader.ReadAsync();
        return (tables, closed, roleReader.GetString(0), roleReader.GetBoolean(1), roleReader.GetBoolean(2), roleReader.GetBoolean(3));
    }

    private static string Short(Guid tenant) => tenant == ProbeTenantA ? "probe-a" : "probe-b";
}
