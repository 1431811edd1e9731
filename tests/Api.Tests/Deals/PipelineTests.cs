using System.Net;
using System.Text.Json.Nodes;
using Shohayota.Api.Tests.Contacts;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Deals;

/// <summary>
/// The tenant's pipeline: default stages, an admin's replacement of the list (validated whole, deals never orphaned,
/// kinds kept while deals sit in a stage), and its totals per stage and currency, exact.
/// </summary>
public sealed class PipelineTests
{
    [Fact]
    public async Task ANewTenantHasTheDefaultStagesEmpty()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);

        var stages = await DealsTests.StagesAsync(host, member.AccessToken);

        stages.Select(s => (s.Name, s.Kind, s.Probability)).Should().Equal(
            ("Lead", "open", 10), ("Qualified", "open", 25), ("Proposal", "open", 50), ("Negotiation", "open", 75), ("Won", "won", 100), ("Lost", "lost", 0));
        stages.Should().OnlyContain(s => s.Count == 0 && s.Totals.Count == 0);
        stages.Select(s => s.Id).Should().OnlyHaveUniqueItems();
        (await DealsTests.CountAsync(host, tenant.Id, "pipeline_stages")).Should().Be(6);
    }

    [Fact]
    public async Task TheDefaultStagesAreCreatedOnceWithOneAuditEntryByTheRequestThatCreatedThem()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);

        // Several first reads at once, then more later: one creation.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => DealsTests.StagesAsync(host, member.AccessToken)));
        var stages = await DealsTests.StagesAsync(host, tenant.Admin.AccessToken);
        using var audit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=pipeline.created", tenant.Admin.AccessToken);

        audit.StatusCode.Should().Be(HttpStatusCode.OK);
        var entries = (await audit.JsonAsync())["items"]!.AsArray();
        entries.Should().HaveCount(1);
        var entry = entries[0]!;
        entry["target"]!["type"]!.GetValue<string>().Should().Be("pipeline");
        entry["actor"]!["role"]!.GetValue<string>().Should().Be("member", "a member's first read created them");
        entry["details"]!["stages"]!.AsArray().Select(s => s!["id"]!.GetValue<string>()).Should().Equal(stages.Select(s => s.Id));
        entry["details"]!["defaults"]!.GetValue<bool>().Should().BeTrue();
        (await DealsTests.CountAsync(host, tenant.Id, "pipeline_stages")).Should().Be(6);
    }

    [Fact]
    public async Task AnAdminRenamesReordersAddsAndReweighsStagesAndTheChangePersistsAndIsAudited()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Kept");
        var stages = await DealsTests.StagesAsync(host, token);
        var deal = (await DealsTests.CreateDealAsync(host, token, DealsTests.Deal(customer, "Kept", 1m, stages[1].Id)))["id"]!.GetValue<string>();
        object[] next =
        [
            new { id = stages[1].Id, name = "Qualified lead", kind = "open", probability = 30 },
            new { id = stages[0].Id, name = "Lead", kind = "open", probability = 5 },
            new { name = "  Demo  ", kind = "open", probability = 40 },
            new { id = stages[2].Id, name = "Proposal", kind = "open", probability = 50 },
            new { id = stages[3].Id, name = "Negotiation", kind = "open", probability = 80 },
            new { id = stages[4].Id, name = "Won", kind = "won", probability = 100 },
            new { id = stages[5].Id, name = "Lost", kind = "lost", probability = 0 },
        ];

        using var replaced = await host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", token, new { stages = next });
        var read = await DealsTests.StagesAsync(host, (await host.AddUserAsync(tenant)).AccessToken);
        var rows = await RowsAsync(host, tenant.Id);
        using var audit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=pipeline.updated", token);
        using var created = await host.SendAsync(HttpMethod.Post, "/api/deals", token, DealsTests.Deal(customer, "First stage", 1m));

        replaced.StatusCode.Should().Be(HttpStatusCode.OK, await replaced.Content.ReadAsStringAsync());
        var answered = (await replaced.JsonAsync())["stages"]!.AsArray();
        answered.Select(s => s!["name"]!.GetValue<string>()).Should().Equal("Qualified lead", "Lead", "Demo", "Proposal", "Negotiation", "Won", "Lost");
        answered[0]!["count"]!.GetValue<int>().Should().Be(1, "the deal stayed in its renamed stage");
        read.Select(s => (s.Name, s.Probability)).Should().Equal(
            ("Qualified lead", 30), ("Lead", 5), ("Demo", 40), ("Proposal", 50), ("Negotiation", 80), ("Won", 100), ("Lost", 0));
        read[0].Id.Should().Be(stages[1].Id);
        stages.Select(s => s.Id).Should().NotContain(read[2].Id, "a stage sent without an id is a new one");
        rows.Should().Equal(read.Select((s, i) => $"{i} {s.Id} {s.Name} {s.Kind} {s.Probability}"), "the stored rows are what is answered");
        var entry = (await audit.JsonAsync())["items"]!.AsArray().Single()!;
        entry["details"]!["stages"]!.AsArray().Should().HaveCount(7);
        entry["details"]!["movedDeals"]!.GetValue<int>().Should().Be(0);
        (await created.JsonAsync())["stageId"]!.GetValue<string>().Should().Be(stages[1].Id, "a new deal starts in the first open stage");
        using var unchanged = await host.SendAsync(HttpMethod.Get, $"/api/deals/{deal}", token);
        (await unchanged.JsonAsync())["version"]!.GetValue<int>().Should().Be(1);
    }

    public static TheoryData<string, string> InvalidLists => new()
    {
        { "no stages", "stages" },
        { "31 stages", "stages" },
        { "no stages property", "stages" },
        { "two stages with one name", "stages[1].name" },
        { "an empty name", "stages[0].name" },
        { "a name of 101 characters", "stages[0].name" },
        { "no open stage", "stages" },
        { "an unknown kind", "stages[0].kind" },
        { "a probability of 101", "stages[0].probability" },
        { "a null stage", "stages[1]" },
        { "one id twice", "stages[1].id" },
    };

    [Theory]
    [MemberData(nameof(InvalidLists))]
    public async Task AnInvalidStageListIsRefusedNamingTheFieldAndChangesNothing(string mistake, string field)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var stages = await DealsTests.StagesAsync(host, token);
        var valid = stages.Select(s => (object?)new { id = s.Id, name = s.Name, kind = s.Kind, probability = s.Probability }).ToList();
        object body = mistake switch
        {
            "no stages" => new { stages = Array.Empty<object>() },
            "31 stages" => new { stages = Enumerable.Range(0, 31).Select(i => new { name = $"s{i}", kind = "open", probability = 1 }) },
            "no stages property" => new { moveTo = stages[0].Id },
            "two stages with one name" => new { stages = new[] { new { name = "Same", kind = "open", probability = 1 }, new { name = " same ", kind = "won", probability = 1 } } },
            "an empty name" => new { stages = new[] { new { name = " ", kind = "open", probability = 1 } } },
            "a name of 101 characters" => new { stages = new[] { new { name = new string('n', 101), kind = "open", probability = 1 } } },
            "no open stage" => new { stages = new[] { new { name = "Won", kind = "won", probability = 100 }, new { name = "Lost", kind = "lost", probability = 0 } } },
            "an unknown kind" => new { stages = new[] { new { name = "Maybe", kind = "pending", probability = 1 }, new { name = "Open", kind = "open", probability = 1 } } },
            "a probability of 101" => new { stages = new[] { new { name = "Sure", kind = "open", probability = 101 } } },
            "a null stage" => new { stages = new[] { valid[0], null } },
            _ => new { stages = new[] { valid[0], valid[0] } },
        };

        using var refused = await host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", token, body);

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await refused.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("validation"));
        (await refused.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().Contain(field);
        (await DealsTests.StagesAsync(host, token)).Should().BeEquivalentTo(stages, o => o.WithStrictOrdering());
        (await RowsAsync(host, tenant.Id)).Should().HaveCount(6);
    }

    [Fact]
    public async Task AnUnknownStageIdOrAMoveToThatDoesNotStayIsRefused()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        var token = a.Admin.AccessToken;
        var stages = await DealsTests.StagesAsync(host, token);
        var foreign = (await DealsTests.StagesAsync(host, b.Admin.AccessToken))[0].Id;
        var kept = stages.Skip(1).Select(s => new { id = (string?)s.Id, name = s.Name, kind = s.Kind, probability = s.Probability }).ToArray();

        using var unknown = await host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", token,
            new { stages = kept.Append(new { id = (string?)Guid.NewGuid().ToString(), name = "Ghost", kind = "open", probability = 1 }) });
        using var foreignId = await host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", token,
            new { stages = kept.Append(new { id = (string?)foreign, name = "Ghost", kind = "open", probability = 1 }) });
        using var removedTarget = await host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", token, new { stages = kept, moveTo = stages[0].Id });
        using var foreignTarget = await host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", token, new { stages = kept, moveTo = foreign });

        unknown.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await unknown.ProblemAsync())["detail"]!.GetValue<string>().Should().StartWith("stages[5].id:");
        foreignId.StatusCode.Should().Be(HttpStatusCode.BadRequest, "another tenant's stage is not one of this pipeline's");
        (await foreignId.ProblemAsync())["detail"]!.GetValue<string>().Should().Be($"stages[5].id: {foreign} is not a stage of this pipeline (leave the id out for a new stage).");
        removedTarget.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await removedTarget.ProblemAsync())["detail"]!.GetValue<string>().Should().StartWith("moveTo:");
        (await foreignTarget.BodyWithoutTraceAsync()).Should().Be(await removedTarget.BodyWithoutTraceAsync());
        (await DealsTests.StagesAsync(host, token)).Select(s => s.Id).Should().Equal(stages.Select(s => s.Id));
        (await DealsTests.StagesAsync(host, b.Admin.AccessToken)).Should().HaveCount(6);
    }

    [Fact]
    public async Task RemovingStagesThatHoldDealsIsRefusedWithTheCountUnlessMoveToMovesEachDealAudited()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Initech");
        var stages = await DealsTests.StagesAsync(host, token);
        var deals = new[]
        {
            (await DealsTests.CreateDealAsync(host, token, DealsTests.Deal(customer, "TPS", 10m)))["id"]!.GetValue<string>(),
            (await DealsTests.CreateDealAsync(host, token, DealsTests.Deal(customer, "Stapler", 20m)))["id"]!.GetValue<string>(),
            (await DealsTests.CreateDealAsync(host, token, DealsTests.Deal(customer, "Printer", 30m, stages[3].Id)))["id"]!.GetValue<string>(),
        };
        var untouched = (await DealsTests.CreateDealAsync(host, token, DealsTests.Deal(customer, "Elsewhere", 40m, stages[2].Id)))["id"]!.GetValue<string>();
        foreach (var id in deals)
        {
            // Read first, so each deal's grain holds the old stage: the move must not leave it serving that.
            using var warm = await host.SendAsync(HttpMethod.Get, $"/api/deals/{id}", token);
            warm.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var kept = new[] { stages[1], stages[2], stages[4], stages[5] }.Select(s => new { id = s.Id, name = s.Name, kind = s.Kind, probability = s.Probability }).ToArray();

        using var refused = await host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", token, new { stages = kept });
        refused.StatusCode.Should().Be(HttpStatusCode.Conflict, await refused.Content.ReadAsStringAsync());
        (await refused.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("conflict"));
        (await refused.ProblemAsync())["detail"]!.GetValue<string>().Should().Be(
            "Removed stages still hold 3 deals: 'Lead' (2 deals), 'Negotiation' (1 deal). Send moveTo (a stage that stays) to move them there.");
        (await RowsAsync(host, tenant.Id)).Should().HaveCount(6);

        using var member = await host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", (await host.AddUserAsync(tenant)).AccessToken, new { stages = kept, moveTo = stages[4].Id });
        member.StatusCode.Should().Be(HttpStatusCode.Forbidden);

        using var replaced = await host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", token, new { stages = kept, moveTo = stages[4].Id });

        replaced.StatusCode.Should().Be(HttpStatusCode.OK, await replaced.Content.ReadAsStringAsync());
        var summary = (await replaced.JsonAsync())["stages"]!.AsArray();
        summary.Select(s => s!["name"]!.GetValue<string>()).Should().Equal("Qualified", "Proposal", "Won", "Lost");
        summary[2]!["count"]!.GetValue<int>().Should().Be(3);
        summary[2]!["totals"]!.AsArray().Single()!["amount"]!.GetValue<decimal>().Should().Be(60m);
        var again = await DealsTests.MoveAsync(host, token, deals[0], stages[4].Id);
        again["version"]!.GetValue<int>().Should().Be(2, "moving a deal to the stage it is already in changes nothing, however cold its grain");
        foreach (var id in deals)
        {
            using var read = await host.SendAsync(HttpMethod.Get, $"/api/deals/{id}", token);
            var deal = await read.JsonAsync();
            deal["stageId"]!.GetValue<string>().Should().Be(stages[4].Id);
            deal["status"]!.GetValue<string>().Should().Be("won");
            deal["closedAt"].Should().NotBeNull();
            deal["version"]!.GetValue<int>().Should().Be(2);
            read.Headers.ETag!.Tag.Should().Be("\"2\"");
        }

        using var audit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=deal.stage_changed", token);
        var moves = (await audit.JsonAsync())["items"]!.AsArray();
        moves.Select(e => e!["target"]!["id"]!.GetValue<string>()).Should().BeEquivalentTo(deals, "one entry per moved deal");
        moves.Should().OnlyContain(e => e!["details"]!["to"]!.GetValue<string>() == stages[4].Id && e["details"]!["toStatus"]!.GetValue<string>() == "won"
                                        && e["details"]!["pipeline"]!.GetValue<bool>() && e["details"]!["version"]!.GetValue<int>() == 2);
        moves.Select(e => e!["details"]!["from"]!.GetValue<string>()).Should().BeEquivalentTo([stages[0].Id, stages[0].Id, stages[3].Id]);
        using var timeline = await host.SendAsync(HttpMethod.Get, $"/api/customers/{customer}/timeline?pageSize=200", token);
        (await timeline.JsonAsync())["items"]!.AsArray().Count(e => e!["action"]!.GetValue<string>() == "deal.stage_changed").Should().Be(3);
        using var pipelineAudit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=pipeline.updated", token);
        var updated = (await pipelineAudit.JsonAsync())["items"]!.AsArray().Single()!["details"]!;
        updated["movedDeals"]!.GetValue<int>().Should().Be(3);
        updated["removed"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()).Should().BeEquivalentTo("Lead", "Negotiation");
        using var other = await host.SendAsync(HttpMethod.Get, $"/api/deals/{untouched}", token);
        (await other.JsonAsync())["version"]!.GetValue<int>().Should().Be(1);
        (await DealsTests.ScalarAsync(host, $"SELECT count(*) FROM audit_logs WHERE tenant_id = '{tenant.Id}' AND action = 'deal.stage_changed'")).Should().Be(3L);
    }

    [Fact]
    public async Task DealsMovedWhileTheirStageIsRemovedEndInAStageThatStaysWithoutAHang()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync("enterprise");
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Racing");
        var stages = await DealsTests.StagesAsync(host, token);
        var deals = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            deals.Add((await DealsTests.CreateDealAsync(host, token, DealsTests.Deal(customer, $"r{i}", i)))["id"]!.GetValue<string>());
        }

        var kept = stages.Skip(1).Select(s => new { id = s.Id, name = s.Name, kind = s.Kind, probability = s.Probability }).ToArray();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        // Each move asks the pipeline for its stages while the replacement, holding the pipeline, moves the same deals.
        var replacing = host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", token, new { stages = kept, moveTo = stages[4].Id });
        var moves = deals.Select(async id =>
        {
            using var moved = await host.SendAsync(HttpMethod.Post, $"/api/deals/{id}/stage", token, new { stageId = stages[2].Id });
            return moved.StatusCode;
        }).ToList();
        using var replaced = await replacing;
        var statuses = await Task.WhenAll(moves);
        clock.Stop();

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(15), "a deal waiting for the pipeline and the pipeline waiting for that deal must not wait out the call timeout");
        replaced.StatusCode.Should().BeOneOf([HttpStatusCode.OK, HttpStatusCode.Conflict], await replaced.Content.ReadAsStringAsync());
        statuses.Should().OnlyContain(s => s == HttpStatusCode.OK || s == HttpStatusCode.Conflict);
        var where = await DealsTests.ScalarAsync(host,
            $"SELECT string_agg(DISTINCT stage_id::text || ' ' || status, ',') FROM deals WHERE tenant_id = '{tenant.Id}' AND stage_id NOT IN (SELECT id FROM pipeline_stages WHERE tenant_id = '{tenant.Id}')");
        where.Should().Be(DBNull.Value, "no deal is left in a removed stage");
        foreach (var id in deals)
        {
            using var read = await host.SendAsync(HttpMethod.Get, $"/api/deals/{id}", token);
            var deal = await read.JsonAsync();
            var row = (string?)await DealsTests.ScalarAsync(host, $"SELECT stage_id::text || ' ' || version FROM deals WHERE id = '{id}'");
            $"{deal["stageId"]!.GetValue<string>()} {deal["version"]!.GetValue<int>()}".Should().Be(row, "each deal's grain serves its row as stored");
        }
    }

    [Fact]
    public async Task AStagesKindChangesOnlyWhileItHoldsNoDeals()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Kinds");
        var stages = await DealsTests.StagesAsync(host, token);
        await DealsTests.CreateDealAsync(host, token, DealsTests.Deal(customer, "In lead", 1m));
        object[] List(string leadKind, string qualifiedKind) => stages.Select((s, i) => (object)new
        {
            id = s.Id, name = s.Name, probability = s.Probability,
            kind = i switch { 0 => leadKind, 1 => qualifiedKind, _ => s.Kind },
        }).ToArray();

        using var refused = await host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", token, new { stages = List("won", "open") });
        using var allowed = await host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", token, new { stages = List("open", "lost") });

        refused.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await refused.ProblemAsync())["detail"]!.GetValue<string>().Should().Be("Stage 'Lead' holds 1 deal; move them to another stage before changing its kind.");
        allowed.StatusCode.Should().Be(HttpStatusCode.OK, await allowed.Content.ReadAsStringAsync());
        (await DealsTests.StagesAsync(host, token)).Select(s => s.Kind).Should().Equal("open", "lost", "open", "open", "won", "lost");
        (await DealsTests.ScalarAsync(host, $"SELECT string_agg(status, ',') FROM deals WHERE tenant_id = '{tenant.Id}'")).Should().Be("open");
    }

    [Fact]
    public async Task ThePipelineSumsEachStagesDealsPerCurrencyExactly()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var other = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Summed");
        var stages = await DealsTests.StagesAsync(host, token);
        (decimal Amount, string Currency, int Stage)[] deals =
        [
            (0.1m, "EUR", 0), (0.2m, "EUR", 0), (1234.5678m, "USD", 0), (0.0001m, "USD", 0), (1000m, "JPY", 0),
            (9999999999999.9999m, "EUR", 2), (9999999999999.9999m, "EUR", 2), (0m, "GBP", 2),
            (5m, "EUR", 4),
        ];
        foreach (var (amount, currency, stage) in deals)
        {
            await DealsTests.CreateDealAsync(host, token, DealsTests.Deal(customer, $"{amount} {currency}", amount, stages[stage].Id, currency));
        }

        var foreignCustomer = await ContactsTests.CreateCustomerAsync(host, other.Admin.AccessToken, "Not counted");
        await DealsTests.CreateDealAsync(host, other.Admin.AccessToken, DealsTests.Deal(foreignCustomer, "Not counted", 100m));

        using var response = await host.SendAsync(HttpMethod.Get, "/api/pipeline", (await host.AddUserAsync(tenant)).AccessToken);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var text = await response.Content.ReadAsStringAsync();
        var summary = JsonNode.Parse(text)!["stages"]!.AsArray();
        string Totals(int i) => string.Join(" ", summary[i]!["totals"]!.AsArray().Select(t => $"{t!["currency"]!.GetValue<string>()}={t["amount"]!.GetValue<decimal>().ToString(System.Globalization.CultureInfo.InvariantCulture)}"));
        summary.Select(s => s!["count"]!.GetValue<int>()).Should().Equal(5, 0, 3, 0, 1, 0);
        Totals(0).Should().Be("EUR=0.3 JPY=1000 USD=1234.5679", "0.1 + 0.2 is 0.3 exactly, and each currency is summed on its own");
        Totals(2).Should().Be("EUR=19999999999999.9998 GBP=0");
        Totals(4).Should().Be("EUR=5");
        summary[1]!["totals"]!.AsArray().Should().BeEmpty();
        text.Should().Contain("{\"currency\":\"EUR\",\"amount\":0.3}").And.Contain("\"amount\":19999999999999.9998");
    }

    /// <summary>The tenant's stage rows in their order, as "position id name kind probability" (the superuser: no row-level security in the way).</summary>
    private static async Task<List<string>> RowsAsync(ApiHost host, Guid tenant)
    {
        var text = (string?)await DealsTests.ScalarAsync(host,
            $"SELECT string_agg(position || ' ' || id || ' ' || name || ' ' || kind || ' ' || probability, '|' ORDER BY position) FROM pipeline_stages WHERE tenant_id = '{tenant}'");
        return text?.Split('|').ToList() ?? [];
    }
}
