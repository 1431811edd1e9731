using Npgsql;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.TestSupport;

namespace Shohayota.Grains.Tests.Audit;

[Collection(ClusterCollection.Name)]
public sealed class AuditLogGrainTests(ClusterFixture fixture)
{
    [Fact]
    public async Task PruningOldEntriesKeepsACheckpointSoTheRestStillVerifiesAndTamperingIsStillCaught()
    {
        var database = await TestDatabase.SharedAsync();
        var tenant = Guid.NewGuid();
        var old = DateTimeOffset.UtcNow.AddDays(-500);
        await InsertChainAsync(database, tenant, old, count: 3);
        ClusterFixture.AsSuperAdmin();
        var log = fixture.Grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(tenant));
        await log.AppendAsync([new AuditDraft("audit.test", null, null)]);
        await log.AppendAsync([new AuditDraft("audit.test", null, null)]);

        var pruned = await log.PruneAsync(DateTimeOffset.UtcNow.AddDays(-400));
        var afterPrune = await log.VerifyAsync();
        await TamperAsync(database, tenant, seq: 5);
        var afterTamper = await log.VerifyAsync();

        pruned.Should().Be(3);
        afterPrune.Valid.Should().BeTrue();
        afterPrune.Entries.Should().Be(2);
        afterTamper.Valid.Should().BeFalse();
        afterTamper.BrokenAtSeq.Should().Be(5);
    }

    [Fact]
    public async Task AnEntryTooLargeForTheTargetIndexIsLeftOutAloneAndTheChainGoesOn()
    {
        var tenant = Guid.NewGuid();
        ClusterFixture.AsSuperAdmin();
        var log = fixture.Grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(tenant));
        // Random hex does not compress: past the btree's 2,704-byte row limit, PostgreSQL refuses it (54000).
        var huge = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3000));

        var refused = await log.AppendAsync([new AuditDraft("audit.test", "route", huge)]);
        var next = await log.AppendAsync([new AuditDraft("audit.test", null, null)]);

        refused.Should().BeEmpty("the change its data cannot fit is refused, not the writer failed");
        next.Single().Seq.Should().Be(1);
        (await log.VerifyAsync()).Valid.Should().BeTrue();
    }

    [Fact]
    public async Task AppendsContinueTheChainOfAPreviousActivation()
    {
        var database = await TestDatabase.SharedAsync();
        var tenant = Guid.NewGuid();
        await InsertChainAsync(database, tenant, DateTimeOffset.UtcNow.AddMinutes(-5), count: 2);
        ClusterFixture.AsSuperAdmin();
        var log = fixture.Grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(tenant));

        var appended = await log.AppendAsync([new AuditDraft("audit.test", null, null)]);

        appended.Single().Seq.Should().Be(3);
        (await log.VerifyAsync()).Valid.Should().BeTrue();
    }

    [Fact]
    public async Task AWriterWhoseChainMovedUnderItReloadsTheHeadAndStaysGapFree()
    {
        var database = await TestDatabase.SharedAsync();
        var tenant = Guid.NewGuid();
        ClusterFixture.AsSuperAdmin();
        var log = fixture.Grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(tenant));
        var first = (await log.AppendAsync([new AuditDraft("audit.test", null, null)])).Single();
        await InsertChainAsync(database, tenant, DateTimeOffset.UtcNow, count: 2, after: first);

        var appended = await log.AppendAsync([new AuditDraft("audit.test", null, null)]);

        appended.Single().Seq.Should().Be(4);
        var verification = await log.VerifyAsync();
        verification.Valid.Should().BeTrue();
        verification.Entries.Should().Be(4);
    }

    [Fact]
    public async Task AChainThatKeepsMovingFailsTheBatchsCallersInsteadOfLeavingThemToTimeOut()
    {
        var database = await TestDatabase.SharedAsync();
        var tenant = Guid.NewGuid();
        var name = $"test_chain_moves_{tenant:N}";
        // Every insert into this tenant's chain meets a "taken seq", as if another writer always got there first.
        await database.ExecuteDdlAsync($"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'seq taken' USING ERRCODE = 'unique_violation', CONSTRAINT = 'audit_logs_pkey'; END $$;
            CREATE TRIGGER {name} BEFORE INSERT ON audit_logs FOR EACH ROW WHEN (NEW.tenant_id = '{tenant:D}') EXECUTE FUNCTION {name}();
            """);
        try
        {
            ClusterFixture.AsSuperAdmin();
            var log = fixture.Grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(tenant));

            var append = () => log.AppendAsync([new AuditDraft("audit.test", null, null)]).WaitAsync(TimeSpan.FromSeconds(20));

            await append.Should().ThrowAsync<AuditUnavailableException>();
        }
        finally
        {
            RequestContext.Clear();
            await database.ExecuteDdlAsync($"DROP TRIGGER {name} ON audit_logs; DROP FUNCTION {name}();");
        }
    }

    private static async Task InsertChainAsync(TestDatabase database, Guid tenant, DateTimeOffset at, int count, AuditEntry? after = null)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        var previous = after?.Hash ?? AuditChain.Genesis;
        var start = (int)(after?.Seq ?? 0) + 1;
        for (var seq = start; seq < start + count; seq++)
        {
            var time = at.AddTicks(-(at.Ticks % 10)).AddSeconds(seq);
            var entry = new AuditEntry(Guid.NewGuid(), tenant, seq, time, new AuditActor(null, null, Roles.System), "old.entry", null, null,
                AuditOutcomes.Success, null, null, null, null, previous, []);
            entry = entry with { Hash = AuditChain.Hash(entry, previous) };
            await using var insert = new NpgsqlCommand(
                "INSERT INTO audit_logs (tenant_id, seq, id, created_at, actor_role, action, outcome, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                connection);
            foreach (var value in new object[] { tenant, (long)seq, entry.Id, entry.At, Roles.System, entry.Action, entry.Outcome, previous, entry.Hash })
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = value });
            }

            await insert.ExecuteNonQueryAsync();
            previous = entry.Hash;
        }
    }

    private static async Task TamperAsync(TestDatabase database, Guid tenant, long seq)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var update = new NpgsqlCommand("UPDATE audit_logs SET action = 'rewritten' WHERE tenant_id = $1 AND seq = $2", connection);
        update.Parameters.Add(new NpgsqlParameter { Value = tenant });
        update.Parameters.Add(new NpgsqlParameter { Value = seq });
        await update.ExecuteNonQueryAsync();
    }
}
