using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Database;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Records;

/// <summary>
/// A tenant's searches run at most as many queries at once on a node as it has cores (the node's
/// <c>TenantQueryGate</c>): a burst of one tenant's searches waits its turn in that tenant's queue instead of running every
/// query at once in PostgreSQL (sixteen searches at once on two cores ran up to eleven together, each stretched to tens or
/// hundreds of milliseconds; README "Customer search"). Plain pages take no turn.
/// </summary>
public sealed class ListConcurrencyTests
{
    private const string Waiting =
        """
        SELECT count(DISTINCT l.pid)::int FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.relation = $1::regclass AND NOT l.granted
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND a.usename = 'shohayota_app'
          AND a.query NOT ILIKE '%count(%' AND a.query NOT ILIKE 'INSERT%'
        """;

    [Fact]
    public async Task ABurstOfOneTenantsSearchesRunsAtMostOneQueryPerCoreAtATimeWhilePlainPagesAllRunAndEveryOneAnswers()
    {
        await using var database = await TestDatabase.StartAsync();
        // Searches stuck on a locked table must outlive the test's look at them (the default statement timeout is 2 s).
        await using var host = await ApiHost.StartAsync(database, settings: ["--Shohayota:Search:StatementTimeout=00:01:00"]);
        var tenant = await host.ProvisionTenantAsync();
        var burst = 3 * Environment.ProcessorCount + 2;
        foreach (var (route, table, limit) in new[]
        {
            ("/api/customers?q=acme", "customers", Environment.ProcessorCount), ("/api/contacts?q=acme", "contacts", Environment.ProcessorCount),
            ("/api/customers", "customers", burst), ("/api/contacts", "contacts", burst),
        })
        {
            // The tenant's grains and the route's workers are active first, so only the list queries wait for the table.
            using (var warm = await host.SendAsync(HttpMethod.Get, route, tenant.Admin.AccessToken))
            {
                warm.StatusCode.Should().Be(HttpStatusCode.OK, route);
            }

            await using var locker = new NpgsqlConnection(database.SuperuserConnectionString);
            await locker.OpenAsync();
            await using var transaction = await locker.BeginTransactionAsync();
            await using (var lockTable = new NpgsqlCommand($"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE", locker, transaction))
            {
                await lockTable.ExecuteNonQueryAsync();
            }

            var lists = Enumerable.Range(0, burst).Select(_ => host.SendAsync(HttpMethod.Get, route, tenant.Admin.AccessToken)).ToArray();

            // The queries the burst has in PostgreSQL at once: the runtime role's backends waiting for the locked table (not
            // the isolation probe's counts and probe rows, which its first run at start-up may still be writing).
            // Until the expected number waits (up to 20 s on a loaded machine); searches then for 1.5 s more, never beyond it.
            var most = await MostWaitingAsync(database, table, TimeSpan.FromSeconds(20), enough: limit);
            if (limit < burst)
            {
                most = Math.Max(most, await MostWaitingAsync(database, table, TimeSpan.FromSeconds(1.5), enough: limit + 1));
            }

            most.Should().Be(limit, limit < burst
                ? $"{burst} searches of {route} at once run at most one query per core ({limit}) on the node; the rest wait their turn"
                : $"{burst} plain pages of {route} at once take no turn: all reach PostgreSQL");

            await transaction.CommitAsync();
            foreach (var list in await Task.WhenAll(lists))
            {
                list.StatusCode.Should().Be(HttpStatusCode.OK, route);
                list.Dispose();
            }
        }
    }

    /// <summary>The most backends of the runtime role seen waiting for the table within the span (or until there are enough).</summary>
    private static async Task<int> MostWaitingAsync(TestDatabase database, string table, TimeSpan span, int enough)
    {
        await using var watcher = new NpgsqlConnection(database.SuperuserConnectionString);
        await watcher.OpenAsync();
        await using var waiting = new NpgsqlCommand(Waiting, watcher);
        waiting.Parameters.Add(new NpgsqlParameter { Value = table });
        var most = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < span)
        {
            most = Math.Max(most, (int)(await waiting.ExecuteScalarAsync())!);
            if (most >= enough)
            {
                break;
            }

            await Task.Delay(20);
        }

        return most;
    }
    [Fact]
    public async Task ASearchThatWaitsLongerThanTheTurnTimeoutAnswers429TenantBusyWithRetryAfterAndTheOthersStillAnswer()
    {
        await using var database = await TestDatabase.StartAsync();
        await using var host = await ApiHost.StartAsync(database,
            settings: ["--Shohayota:Limits:QueryTurnTimeout=00:00:01", "--Shohayota:Search:StatementTimeout=00:01:00"]);
        var tenant = await host.ProvisionTenantAsync();
        var other = await host.ProvisionTenantAsync();
        string[] searches = ["/api/customers?q=acme", "/api/contacts?q=acme"];
        foreach (var route in searches.Append("/api/contacts"))
        {
            using var warm = await host.SendAsync(HttpMethod.Get, route, tenant.Admin.AccessToken);
            warm.StatusCode.Should().Be(HttpStatusCode.OK, route);
        }

        await using var locker = new NpgsqlConnection(database.SuperuserConnectionString);
        await locker.OpenAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE", locker, transaction))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        // The tenant's turns, all taken by searches stuck on the locked table: wait until each of them is in PostgreSQL, so
        // none is still on its way to a turn when the next search asks for one.
        var held = Enumerable.Range(0, Environment.ProcessorCount)
            .Select(_ => host.SendAsync(HttpMethod.Get, "/api/customers?q=acme", tenant.Admin.AccessToken)).ToArray();
        (await MostWaitingAsync(database, "customers", TimeSpan.FromSeconds(20), enough: Environment.ProcessorCount))
            .Should().Be(Environment.ProcessorCount, "the held searches reach PostgreSQL");

        // Both searches refuse the same way once they waited their second, and each handler sets Retry-After.
        foreach (var route in searches)
        {
            var clock = Stopwatch.StartNew();
            using var busy = await host.SendAsync(HttpMethod.Get, route, tenant.Admin.AccessToken).WaitAsync(TimeSpan.FromSeconds(20));
            busy.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, $"{route}: the tenant's turns stayed taken past the turn timeout");
            (await busy.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("tenant-busy"));
            busy.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(2), route);
            clock.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(900), $"{route} waited for its turn first");
        }

        // A plain page of the same tenant takes no turn, and another tenant's search does not wait in this tenant's queue.
        using (var page = await host.SendAsync(HttpMethod.Get, "/api/contacts", tenant.Admin.AccessToken).WaitAsync(TimeSpan.FromSeconds(20)))
        {
            page.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using (var elsewhere = await host.SendAsync(HttpMethod.Get, "/api/contacts?q=acme", other.Admin.AccessToken).WaitAsync(TimeSpan.FromSeconds(20)))
        {
            elsewhere.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        await transaction.CommitAsync();
        foreach (var search in await Task.WhenAll(held))
        {
            search.StatusCode.Should().Be(HttpStatusCode.OK, "a search that had its turn answers once the table is free");
            search.Dispose();
        }

        host.Services.GetRequiredService<TenantQueryGate>().TenantsInFlight.Should().Be(0, "the searches that gave up hold no turn");
        using var after = await host.SendAsync(HttpMethod.Get, "/api/contacts?q=acme", tenant.Admin.AccessToken);
        after.StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
