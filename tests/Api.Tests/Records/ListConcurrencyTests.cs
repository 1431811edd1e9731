using System.Diagnostics;
using System.Net;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Records;

/// <summary>
/// A tenant's list and search requests run at most as many queries at once on a node as it has cores (the node's
/// <c>TenantQueryGate</c>): a burst of one tenant's pages waits its turn in that tenant's queue instead of running every
/// query at once in PostgreSQL (sixteen searches at once on two cores ran up to eleven together, each stretched to tens or
/// hundreds of milliseconds; README "Customer search").
/// </summary>
public sealed class ListConcurrencyTests
{
    [Fact]
    public async Task ABurstOfOneTenantsListsRunsAtMostOneQueryPerCoreAtATimeAndEveryListAnswersOnceTheTableIsFree()
    {
        await using var database = await TestDatabase.StartAsync();
        await using var host = await ApiHost.StartAsync(database);
        var tenant = await host.ProvisionTenantAsync();
        var burst = 3 * Environment.ProcessorCount + 2;
        foreach (var (route, table) in new[] { ("/api/customers", "customers"), ("/api/contacts", "contacts"), ("/api/deals", "deals"), ("/api/activities", "activities") })
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
            await using var watcher = new NpgsqlConnection(database.SuperuserConnectionString);
            await watcher.OpenAsync();
            await using var waiting = new NpgsqlCommand(
                $"""
                SELECT count(DISTINCT l.pid)::int FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.relation = '{table}'::regclass AND NOT l.granted
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND a.usename = 'shohayota_app'
                  AND a.query NOT ILIKE '%count(%' AND a.query NOT ILIKE 'INSERT%'
                """, watcher);
            var most = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(2))
            {
                most = Math.Max(most, (int)(await waiting.ExecuteScalarAsync())!);
                await Task.Delay(20);
            }

            most.Should().BeInRange(1, Environment.ProcessorCount,
                $"{burst} lists of {route} at once run at most one query per core ({Environment.ProcessorCount}) on the node; the rest wait their turn");

            await transaction.CommitAsync();
            foreach (var list in await Task.WhenAll(lists))
            {
                list.StatusCode.Should().Be(HttpStatusCode.OK, route);
                list.Dispose();
            }
        }
    }

    [Fact]
    public async Task AListThatWaitsLongerThanTheTurnTimeoutAnswers503TenantBusyWithRetryAfterAndTheOthersStillAnswer()
    {
        await using var database = await TestDatabase.StartAsync();
        await using var host = await ApiHost.StartAsync(database, settings: ["--Shohayota:Limits:QueryTurnTimeout=00:00:01"]);
        var tenant = await host.ProvisionTenantAsync();
        var other = await host.ProvisionTenantAsync();
        foreach (var route in new[] { "/api/customers", "/api/contacts", "/api/deals", "/api/activities" })
        {
            using (var warm = await host.SendAsync(HttpMethod.Get, route, tenant.Admin.AccessToken))
            {
                warm.StatusCode.Should().Be(HttpStatusCode.OK, route);
            }
        }

        await using var locker = new NpgsqlConnection(database.SuperuserConnectionString);
        await locker.OpenAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE", locker, transaction))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        // The tenant's turns are all taken by lists stuck on the locked table: the next list of any kind waits its turn.
        var held = Enumerable.Range(0, Environment.ProcessorCount)
            .Select(_ => host.SendAsync(HttpMethod.Get, "/api/customers", tenant.Admin.AccessToken)).ToArray();
        await Task.Delay(300);
        var clock = Stopwatch.StartNew();
        using (var busy = await host.SendAsync(HttpMethod.Get, "/api/contacts", tenant.Admin.AccessToken).WaitAsync(TimeSpan.FromSeconds(20)))
        {
            busy.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "the tenant's turns stayed taken past the turn timeout");
            (await busy.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("tenant-busy"));
            busy.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(2));
        }

        clock.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(900), "it waited its turn first");

        // Another tenant's list does not wait in this tenant's queue.
        using (var elsewhere = await host.SendAsync(HttpMethod.Get, "/api/contacts", other.Admin.AccessToken))
        {
            elsewhere.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        await transaction.CommitAsync();
        foreach (var list in await Task.WhenAll(held))
        {
            list.StatusCode.Should().Be(HttpStatusCode.OK, "a query that had its turn answers once the table is free");
            list.Dispose();
        }

        using var after = await host.SendAsync(HttpMethod.Get, "/api/contacts", tenant.Admin.AccessToken);
        after.StatusCode.Should().Be(HttpStatusCode.OK, "the waiter that gave up left no turn taken");
    }
}
