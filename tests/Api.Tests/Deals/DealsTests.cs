using System.Net;
using System.Text.Json.Nodes;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Deals;

/// <summary>Deals on the pipeline: stages, status from the stage's kind, exact amounts, contact links, stage moves, totals.</summary>
public sealed class DealsTests
{
    [Fact]
    public async Task ADealStartsInTheFirstOpenStageMovesToWonAndThePipelineTotalsFollow()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await CreateAsync(host, token, "/api/customers", new { name = "Globex" });
        var contact = await CreateAsync(host, token, "/api/contacts", new { lastName = "Simpson", customerId = customer });

        using var pipeline = await host.SendAsync(HttpMethod.Get, "/api/pipeline", token);
        pipeline.StatusCode.Should().Be(HttpStatusCode.OK, await pipeline.Content.ReadAsStringAsync());
        var stages = (await pipeline.JsonAsync())["stages"]!.AsArray();
        stages.Select(s => s!["name"]!.GetValue<string>()).Should().Equal("Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost");
        var won = stages[4]!["id"]!.GetValue<string>();

        using var created = await host.SendAsync(HttpMethod.Post, "/api/deals", token,
            new { name = "Reactor", customerId = customer, contactIds = new[] { contact }, amount = 1234.5m, currency = "EUR", expectedCloseDate = "2027-01-31" });
        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var deal = await created.JsonAsync();
        deal["status"]!.GetValue<string>().Should().Be("open");
        deal["stageId"]!.GetValue<string>().Should().Be(stages[0]!["id"]!.GetValue<string>());
        deal["amount"]!.GetValue<decimal>().Should().Be(1234.5m);
        deal["contactIds"]!.AsArray().Select(c => c!.GetValue<string>()).Should().Equal(contact);
        deal["closedAt"].Should().BeNull();
        var id = deal["id"]!.GetValue<string>();

        using var read = await host.SendAsync(HttpMethod.Get, $"/api/deals/{id}", token);
        (await read.JsonAsync())["expectedCloseDate"]!.GetValue<string>().Should().Be("2027-01-31");

        using var move = ApiHost.Authorized(HttpMethod.Post, $"/api/deals/{id}/stage", token);
        move.Headers.TryAddWithoutValidation("If-Match", "\"1\"");
        move.Content = System.Net.Http.Json.JsonContent.Create(new { stageId = won });
        using var moved = await host.Client.SendAsync(move);
        moved.StatusCode.Should().Be(HttpStatusCode.OK, await moved.Content.ReadAsStringAsync());
        var after = await moved.JsonAsync();
        after["status"]!.GetValue<string>().Should().Be("won");
        after["closedAt"].Should().NotBeNull();
        after["version"]!.GetValue<int>().Should().Be(2);

        using var totals = await host.SendAsync(HttpMethod.Get, "/api/pipeline", token);
        var wonStage = (await totals.JsonAsync())["stages"]!.AsArray()[4]!;
        wonStage["count"]!.GetValue<int>().Should().Be(1);
        wonStage["totals"]!.AsArray()[0]!["amount"]!.GetValue<decimal>().Should().Be(1234.5m);

        using var list = await host.SendAsync(HttpMethod.Get, $"/api/deals?status=won&customerId={customer}", token);
        list.StatusCode.Should().Be(HttpStatusCode.OK, await list.Content.ReadAsStringAsync());
        (await list.JsonAsync())["items"]!.AsArray().Should().ContainSingle();

        using var timeline = await host.SendAsync(HttpMethod.Get, $"/api/customers/{customer}/timeline", token);
        (await timeline.Content.ReadAsStringAsync()).Should().Contain("deal.stage_changed");

        using var contactDelete = await host.SendAsync(HttpMethod.Delete, $"/api/contacts/{contact}", token);
        contactDelete.StatusCode.Should().Be(HttpStatusCode.Conflict);
        using var customerDelete = await host.SendAsync(HttpMethod.Delete, $"/api/customers/{customer}", token);
        customerDelete.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await customerDelete.Content.ReadAsStringAsync()).Should().Contain("1 contact and 1 deal");
        using var cascade = await host.SendAsync(HttpMethod.Delete, $"/api/customers/{customer}?cascade=true", token);
        cascade.StatusCode.Should().Be(HttpStatusCode.NoContent, await cascade.Content.ReadAsStringAsync());
        using var gone = await host.SendAsync(HttpMethod.Get, $"/api/deals/{id}", token);
        gone.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task RemovingAStageWithDealsNeedsMoveTo()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await CreateAsync(host, token, "/api/customers", new { name = "Initech" });
        var deal = await CreateAsync(host, token, "/api/deals", new { name = "TPS", customerId = customer, amount = 10, currency = "USD" });
        using var pipeline = await host.SendAsync(HttpMethod.Get, "/api/pipeline", token);
        var stages = (await pipeline.JsonAsync())["stages"]!.AsArray().Select(s => s!.AsObject()).ToList();
        var kept = stages.Skip(1).Select(s => new { id = s["id"]!.GetValue<string>(), name = s["name"]!.GetValue<string>(), kind = s["kind"]!.GetValue<string>(), probability = s["probability"]!.GetValue<int>() }).ToArray();

        using var refused = await host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", token, new { stages = kept });
        refused.StatusCode.Should().Be(HttpStatusCode.Conflict, await refused.Content.ReadAsStringAsync());
        (await refused.Content.ReadAsStringAsync()).Should().Contain("1 deal");

        using var member = await host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", (await host.AddUserAsync(tenant)).AccessToken, new { stages = kept });
        member.StatusCode.Should().Be(HttpStatusCode.Forbidden);

        using var replaced = await host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", token, new { stages = kept, moveTo = kept[0].id });
        replaced.StatusCode.Should().Be(HttpStatusCode.OK, await replaced.Content.ReadAsStringAsync());
        var body = await replaced.JsonAsync();
        body["stages"]!.AsArray().Should().HaveCount(5);
        body["stages"]!.AsArray()[0]!["count"]!.GetValue<int>().Should().Be(1);
        using var read = await host.SendAsync(HttpMethod.Get, $"/api/deals/{deal}", token);
        var moved = await read.JsonAsync();
        moved["stageId"]!.GetValue<string>().Should().Be(kept[0].id);
        moved["version"]!.GetValue<int>().Should().Be(2);
    }

    private static async Task<string> CreateAsync(ApiHost host, string token, string path, object body)
    {
        using var response = await host.SendAsync(HttpMethod.Post, path, token, body);
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["id"]!.GetValue<string>();
    }
}
