using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using Shohayota.Api.Tests.Contacts;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Api.Tests.Quotas;

namespace Shohayota.Api.Tests.Deals;

/// <summary>
/// Deals: exact amounts, the status their stage gives them, contact links, and the guarantees every record has (single
/// writer, version, Idempotency-Key, audit, quota, isolation, the customer's delete).
/// </summary>
public sealed class DealsTests
{
    [Fact]
    public async Task ADealStartsInTheFirstOpenStageMovesToWonAndThePipelineTotalsFollow()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Globex");
        var contact = await ContactsTests.CreateContactAsync(host, token, new { lastName = "Simpson", customerId = customer });
        var stages = await StagesAsync(host, token);

        var deal = await CreateDealAsync(host, token,
            new { name = "Reactor", customerId = customer, contactIds = new[] { contact }, amount = 1234.5m, currency = "EUR", expectedCloseDate = "2027-01-31" });
        var id = deal["id"]!.GetValue<string>();
        using var read = await host.SendAsync(HttpMethod.Get, $"/api/deals/{id}", token);
        using var moved = await SendAsync(host, HttpMethod.Post, $"/api/deals/{id}/stage", token, "\"1\"", new { stageId = stages[4].Id });
        using var totals = await host.SendAsync(HttpMethod.Get, "/api/pipeline", token);
        using var list = await host.SendAsync(HttpMethod.Get, $"/api/deals?status=won&customerId={customer}", token);
        using var timeline = await host.SendAsync(HttpMethod.Get, $"/api/customers/{customer}/timeline", token);

        stages.Select(s => s.Name).Should().Equal("Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost");
        deal["status"]!.GetValue<string>().Should().Be("open");
        deal["stageId"]!.GetValue<string>().Should().Be(stages[0].Id);
        deal["amount"]!.GetValue<decimal>().Should().Be(1234.5m);
        deal["contactIds"]!.AsArray().Select(c => c!.GetValue<string>()).Should().Equal(contact);
        deal["closedAt"].Should().BeNull();
        (await read.JsonAsync())["expectedCloseDate"]!.GetValue<string>().Should().Be("2027-01-31");
        moved.StatusCode.Should().Be(HttpStatusCode.OK, await moved.Content.ReadAsStringAsync());
        var after = await moved.JsonAsync();
        after["status"]!.GetValue<string>().Should().Be("won");
        after["closedAt"].Should().NotBeNull();
        after["version"]!.GetValue<int>().Should().Be(2);
        var wonStage = (await totals.JsonAsync())["stages"]!.AsArray()[4]!;
        wonStage["count"]!.GetValue<int>().Should().Be(1);
        wonStage["totals"]!.AsArray()[0]!["amount"]!.GetValue<decimal>().Should().Be(1234.5m);
        list.StatusCode.Should().Be(HttpStatusCode.OK, await list.Content.ReadAsStringAsync());
        (await list.JsonAsync())["items"]!.AsArray().Should().ContainSingle();
        (await timeline.Content.ReadAsStringAsync()).Should().Contain("deal.stage_changed");
    }

    [Fact]
    public async Task CreateReturns201AndTheDealReadsBackExactly()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Globex");
        var contacts = new[]
        {
            await ContactsTests.CreateContactAsync(host, token, new { lastName = "One", customerId = customer }),
            await ContactsTests.CreateContactAsync(host, token, new { lastName = "Two" }),
        };
        var stages = await StagesAsync(host, token);
        var owner = UserId(tenant.Admin);
        const string name = "Ünïcödé 😀 \"quoted\"; DROP TABLE deals; --";

        using var created = await PostJsonAsync(host, "/api/deals", token,
            $$"""{"name":"Ünïcödé 😀 \"quoted\"; DROP TABLE deals; --","customerId":"{{customer}}","contactIds":["{{contacts[1]}}","{{contacts[0]}}"],"amount":1234.5678,"currency":"EUR","stageId":"{{stages[2].Id}}","expectedCloseDate":"2027-02-28","ownerUserId":"{{owner}}"}""");
        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var body = await created.JsonAsync();
        var id = body["id"]!.GetValue<string>();
        using var read = await host.SendAsync(HttpMethod.Get, $"/api/deals/{id}", token);
        var stored = await read.JsonAsync();

        created.Headers.Location!.ToString().Should().Be($"/api/deals/{id}");
        created.Headers.ETag!.Tag.Should().Be("\"1\"");
        read.Headers.ETag!.Tag.Should().Be("\"1\"");
        stored.ToJsonString().Should().Be(body.ToJsonString(), "what was answered is what was stored");
        stored["name"]!.GetValue<string>().Should().Be(name);
        stored["amount"]!.GetValue<decimal>().Should().Be(1234.5678m);
        (await read.Content.ReadAsStringAsync()).Should().Contain("\"amount\":1234.5678,", "the amount travels as the exact decimal");
        stored["currency"]!.GetValue<string>().Should().Be("EUR");
        stored["stageId"]!.GetValue<string>().Should().Be(stages[2].Id);
        stored["status"]!.GetValue<string>().Should().Be("open");
        stored["contactIds"]!.AsArray().Select(c => c!.GetValue<string>()).Should().BeEquivalentTo(contacts);
        stored["customerId"]!.GetValue<string>().Should().Be(customer);
        stored["ownerUserId"]!.GetValue<string>().Should().Be(owner);
        stored["expectedCloseDate"]!.GetValue<string>().Should().Be("2027-02-28");
        stored["closedAt"].Should().BeNull();
        stored["version"]!.GetValue<int>().Should().Be(1);
        (await ScalarAsync(host, $"SELECT amount::text FROM deals WHERE id = '{id}'")).Should().Be("1234.5678", "numeric, never a float");
        (await ScalarAsync(host, $"SELECT count(*) FROM deal_contacts WHERE deal_id = '{id}'")).Should().Be(2L);
    }

    [Theory]
    [InlineData("0", "0")]
    [InlineData("0.0001", "0.0001")]
    [InlineData("9999999999999.9999", "9999999999999.9999")]
    [InlineData("1.50000", "1.5000")]
    [InlineData("\"42.10\"", "42.10")]
    public async Task AmountsAtTheEdgesAreKeptExactly(string amount, string stored)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var customer = await ContactsTests.CreateCustomerAsync(host, tenant.Admin.AccessToken, "Edge");

        using var created = await PostJsonAsync(host, "/api/deals", tenant.Admin.AccessToken,
            $$"""{"name":"{{new string('n', 200)}}","customerId":"{{customer}}","amount":{{amount}},"currency":"JPY"}""");

        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var deal = await created.JsonAsync();
        (await ScalarAsync(host, $"SELECT amount::text FROM deals WHERE id = '{deal["id"]}'")).Should().Be(stored);
        deal["amount"]!.GetValue<decimal>().Should().Be(decimal.Parse(stored, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("\"amount\":1.23456", "amount")]
    [InlineData("\"amount\":-0.01", "amount")]
    [InlineData("\"amount\":10000000000000", "amount")]
    [InlineData("\"amount\":null", "amount")]
    [InlineData("\"currency\":\"eur\"", "currency")]
    [InlineData("\"currency\":\"XXX\"", "currency")]
    [InlineData("\"currency\":\"EURO\"", "currency")]
    [InlineData("\"name\":\" \"", "name")]
    [InlineData("\"name\":\"201\"", "name")]
    [InlineData("\"customerId\":null", "customerId")]
    [InlineData("\"contactIds\":[\"00000000-0000-0000-0000-000000000000\"]", "contactIds")]
    [InlineData("\"contactIds\":\"twice\"", "contactIds")]
    public async Task AnInvalidFieldIsRefusedNamingItAndNothingIsWritten(string field, string error)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var customer = await ContactsTests.CreateCustomerAsync(host, tenant.Admin.AccessToken, "Strict");
        var contact = await ContactsTests.CreateContactAsync(host, tenant.Admin.AccessToken, new { lastName = "Twice" });
        var fields = new Dictionary<string, string>
        {
            ["name"] = "\"Valid\"",
            ["customerId"] = $"\"{customer}\"",
            ["amount"] = "10",
            ["currency"] = "\"EUR\"",
        };
        var (key, value) = (field[1..field.IndexOf('"', 1)], field[(field.IndexOf(':') + 1)..]);
        fields[key] = value switch
        {
            "\"201\"" => $"\"{new string('n', 201)}\"",
            "\"twice\"" => $"[\"{contact}\",\"{contact}\"]",
            _ => value,
        };

        using var refused = await PostJsonAsync(host, "/api/deals", tenant.Admin.AccessToken, "{" + string.Join(',', fields.Select(f => $"\"{f.Key}\":{f.Value}")) + "}");

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await refused.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("validation"));
        (await refused.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().Equal(error);
        (await CountAsync(host, tenant.Id, "deals")).Should().Be(0);
        (await CountAsync(host, tenant.Id, "deal_contacts")).Should().Be(0);
    }

    [Fact]
    public async Task EveryInvalidFieldIsListedAtOnceAndNothingIsWritten()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var contact = Guid.NewGuid();

        using var refused = await host.SendAsync(HttpMethod.Post, "/api/deals", tenant.Admin.AccessToken,
            new { name = "", contactIds = new[] { contact, contact }, amount = 1.00001m, currency = "eur" });
        using var empty = await host.SendAsync(HttpMethod.Post, "/api/deals", tenant.Admin.AccessToken, new { });

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await refused.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().BeEquivalentTo("name", "customerId", "contactIds", "amount", "currency");
        (await empty.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().BeEquivalentTo("name", "customerId", "amount", "currency");
        (await CountAsync(host, tenant.Id, "deals")).Should().Be(0);
    }

    [Fact]
    public async Task UpdatesNeedTheCurrentVersionAndEveryChangeIsAudited()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var customer = await ContactsTests.CreateCustomerAsync(host, member.AccessToken, "Versioned");
        var id = (await CreateDealAsync(host, member.AccessToken, Deal(customer, "First", 100m)))["id"]!.GetValue<string>();

        using var first = await SendAsync(host, HttpMethod.Put, $"/api/deals/{id}", member.AccessToken, "\"1\"", Deal(customer, "Second", 250.25m));
        using var stale = await SendAsync(host, HttpMethod.Put, $"/api/deals/{id}", member.AccessToken, "\"1\"", Deal(customer, "Stale", 1m));
        using var malformed = await SendAsync(host, HttpMethod.Put, $"/api/deals/{id}", member.AccessToken, "2", Deal(customer, "Malformed", 1m));
        using var staleMove = await SendAsync(host, HttpMethod.Post, $"/api/deals/{id}/stage", member.AccessToken, "\"1\"", new { stageId = (await StagesAsync(host, member.AccessToken))[1].Id });
        using var staleDelete = await SendAsync(host, HttpMethod.Delete, $"/api/deals/{id}", member.AccessToken, "\"1\"");
        using var deleted = await SendAsync(host, HttpMethod.Delete, $"/api/deals/{id}", member.AccessToken, "\"2\"");
        using var gone = await host.SendAsync(HttpMethod.Get, $"/api/deals/{id}", member.AccessToken);
        using var audit = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?targetId={id}", tenant.Admin.AccessToken);

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        first.Headers.ETag!.Tag.Should().Be("\"2\"");
        (await first.JsonAsync())["amount"]!.GetValue<decimal>().Should().Be(250.25m);
        stale.StatusCode.Should().Be(HttpStatusCode.PreconditionFailed);
        (await stale.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("precondition-failed"));
        malformed.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        staleMove.StatusCode.Should().Be(HttpStatusCode.PreconditionFailed);
        staleDelete.StatusCode.Should().Be(HttpStatusCode.PreconditionFailed);
        deleted.StatusCode.Should().Be(HttpStatusCode.NoContent);
        gone.StatusCode.Should().Be(HttpStatusCode.NotFound);
        var entries = (await audit.JsonAsync())["items"]!.AsArray();
        entries.Select(e => e!["action"]!.GetValue<string>()).Should().BeEquivalentTo("deal.created", "deal.updated", "deal.deleted");
        var update = entries.Single(e => e!["action"]!.GetValue<string>() == "deal.updated")!;
        update["details"]!.ToJsonString().Should().Contain("Second").And.Contain("First").And.Contain("250.25");
        entries.Should().OnlyContain(e => e!["actor"]!["id"]!.GetValue<string>() == UserId(member));
        (await CountAsync(host, tenant.Id, "deals")).Should().Be(0);
    }

    [Fact]
    public async Task AnIdempotencyKeyMakesARetriedCreateReturnTheSameDeal()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Once");
        var contacts = new[]
        {
            await ContactsTests.CreateContactAsync(host, token, new { lastName = "A" }),
            await ContactsTests.CreateContactAsync(host, token, new { lastName = "B" }),
        };

        using var first = await SendAsync(host, HttpMethod.Post, "/api/deals", token, null,
            new { name = "Once", customerId = customer, contactIds = contacts, amount = 10.5m, currency = "USD" }, "retry-me");
        using var retry = await SendAsync(host, HttpMethod.Post, "/api/deals", token, null,
            new { name = "Once", customerId = customer, contactIds = contacts.Reverse().ToArray(), amount = 10.50m, currency = "USD" }, "retry-me");
        using var other = await SendAsync(host, HttpMethod.Post, "/api/deals", token, null,
            new { name = "Once", customerId = customer, contactIds = contacts, amount = 11m, currency = "USD" }, "retry-me");
        using var tooLong = await SendAsync(host, HttpMethod.Post, "/api/deals", token, null,
            new { name = "Once", customerId = customer, amount = 11m, currency = "USD" }, new string('k', 201));

        first.StatusCode.Should().Be(HttpStatusCode.Created);
        retry.StatusCode.Should().Be(HttpStatusCode.Created, await retry.Content.ReadAsStringAsync());
        (await retry.JsonAsync())["id"]!.GetValue<string>().Should().Be((await first.JsonAsync())["id"]!.GetValue<string>());
        other.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity);
        (await other.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("idempotency-key-reused"));
        tooLong.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await CountAsync(host, tenant.Id, "deals")).Should().Be(1);
        using var audit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=deal.created", token);
        (await audit.JsonAsync())["items"]!.AsArray().Should().ContainSingle();
    }

    [Fact]
    public async Task TheStatusFollowsTheStageAndClosedAtIsSetOnEachCloseAndClearedOnReopen()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Closing");
        var stages = await StagesAsync(host, token);
        var id = (await CreateDealAsync(host, token, Deal(customer, "Closing", 5m)))["id"]!.GetValue<string>();

        var won = await MoveAsync(host, token, id, stages[4].Id);
        var wonAgain = await UpdateAsync(host, token, id, Deal(customer, "Closing", 6m, stages[4].Id));
        var lost = await MoveAsync(host, token, id, stages[5].Id);
        var reopened = await MoveAsync(host, token, id, stages[1].Id);
        var same = await MoveAsync(host, token, id, stages[1].Id);
        var wonByUpdate = await UpdateAsync(host, token, id, Deal(customer, "Closing", 6m, stages[4].Id));
        var reopenedByUpdate = await UpdateAsync(host, token, id, Deal(customer, "Closing", 6m));
        var closedByUpdate = await UpdateAsync(host, token, id, Deal(customer, "Closing", 6m, stages[5].Id));
        using var audit = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?targetId={id}&action=deal.stage_changed", token);

        won["status"]!.GetValue<string>().Should().Be("won");
        won["closedAt"]!.GetValue<DateTimeOffset>().Should().Be(won["updatedAt"]!.GetValue<DateTimeOffset>());
        wonAgain["closedAt"]!.GetValue<DateTimeOffset>().Should().Be(won["closedAt"]!.GetValue<DateTimeOffset>(), "staying won keeps the closing time");
        lost["status"]!.GetValue<string>().Should().Be("lost");
        lost["closedAt"]!.GetValue<DateTimeOffset>().Should().Be(lost["updatedAt"]!.GetValue<DateTimeOffset>(), "won → lost closes it anew");
        lost["closedAt"]!.GetValue<DateTimeOffset>().Should().BeAfter(won["closedAt"]!.GetValue<DateTimeOffset>());
        reopened["status"]!.GetValue<string>().Should().Be("open");
        reopened["closedAt"].Should().BeNull();
        same["version"]!.GetValue<int>().Should().Be(reopened["version"]!.GetValue<int>(), "moving to the stage it is in changes nothing");
        wonByUpdate["status"]!.GetValue<string>().Should().Be("won");
        wonByUpdate["closedAt"]!.GetValue<DateTimeOffset>().Should().Be(wonByUpdate["updatedAt"]!.GetValue<DateTimeOffset>());
        reopenedByUpdate["stageId"]!.GetValue<string>().Should().Be(stages[0].Id, "a PUT replaces every field: without stageId, the first open stage");
        reopenedByUpdate["closedAt"].Should().BeNull();
        closedByUpdate["status"]!.GetValue<string>().Should().Be("lost");
        var moves = (await audit.JsonAsync())["items"]!.AsArray().Reverse().Select(e => e!["details"]!).ToList();
        moves.Select(d => $"{d["fromStatus"]!.GetValue<string>()}>{d["toStatus"]!.GetValue<string>()}").Should().Equal("open>won", "won>lost", "lost>open");
        moves[0]!["from"]!.GetValue<string>().Should().Be(stages[0].Id);
        moves[0]!["to"]!.GetValue<string>().Should().Be(stages[4].Id);
        (await ScalarAsync(host, $"SELECT status || ' ' || (closed_at IS NOT NULL)::text FROM deals WHERE id = '{id}'")).Should().Be("lost true");
    }

    [Fact]
    public async Task MovingToAnotherTenantsOrAnUnknownStageIsRefusedAlikeAndChangesNothing()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        var customer = await ContactsTests.CreateCustomerAsync(host, a.Admin.AccessToken, "Mover");
        var id = (await CreateDealAsync(host, a.Admin.AccessToken, Deal(customer, "Mover", 1m)))["id"]!.GetValue<string>();
        var foreignStage = (await StagesAsync(host, b.Admin.AccessToken))[4].Id;

        using var foreign = await SendAsync(host, HttpMethod.Post, $"/api/deals/{id}/stage", a.Admin.AccessToken, null, new { stageId = foreignStage });
        using var missing = await SendAsync(host, HttpMethod.Post, $"/api/deals/{id}/stage", a.Admin.AccessToken, null, new { stageId = Guid.NewGuid() });
        using var none = await SendAsync(host, HttpMethod.Post, $"/api/deals/{id}/stage", a.Admin.AccessToken, null, new { });
        using var update = await SendAsync(host, HttpMethod.Put, $"/api/deals/{id}", a.Admin.AccessToken, null, Deal(customer, "Mover", 1m, foreignStage));
        using var read = await host.SendAsync(HttpMethod.Get, $"/api/deals/{id}", a.Admin.AccessToken);

        foreign.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await foreign.ProblemAsync())["detail"]!.GetValue<string>().Should().Be("stageId is not a stage of this tenant's pipeline.");
        (await foreign.BodyWithoutTraceAsync()).Should().Be(await missing.BodyWithoutTraceAsync());
        none.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await none.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().Equal("stageId");
        update.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await update.BodyWithoutTraceAsync()).Should().Be(await missing.BodyWithoutTraceAsync());
        var deal = await read.JsonAsync();
        deal["version"]!.GetValue<int>().Should().Be(1);
        deal["status"]!.GetValue<string>().Should().Be("open");
    }

    public static TheoryData<string> Links => ["customerId", "contactIds", "stageId", "ownerUserId"];

    [Theory]
    [MemberData(nameof(Links))]
    public async Task AnotherTenantsRecordInALinkIsRefusedExactlyLikeAMissingOne(string link)
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        var own = await ContactsTests.CreateCustomerAsync(host, a.Admin.AccessToken, "Own");
        var ownDeal = (await CreateDealAsync(host, a.Admin.AccessToken, Deal(own, "Own", 1m)))["id"]!.GetValue<string>();
        var foreign = link switch
        {
            "customerId" => await ContactsTests.CreateCustomerAsync(host, b.Admin.AccessToken, "B's"),
            "contactIds" => await ContactsTests.CreateContactAsync(host, b.Admin.AccessToken, new { lastName = "B's" }),
            "stageId" => (await StagesAsync(host, b.Admin.AccessToken))[0].Id,
            _ => UserId(b.Admin),
        };
        object Body(string id) => link switch
        {
            "customerId" => new { name = "x", customerId = id, amount = 1, currency = "EUR" },
            "contactIds" => new { name = "x", customerId = own, contactIds = new[] { id }, amount = 1, currency = "EUR" },
            "stageId" => new { name = "x", customerId = own, stageId = id, amount = 1, currency = "EUR" },
            _ => (object)new { name = "x", customerId = own, ownerUserId = id, amount = 1, currency = "EUR" },
        };
        var missing = Guid.NewGuid().ToString();

        using var createForeign = await host.SendAsync(HttpMethod.Post, "/api/deals", a.Admin.AccessToken, Body(foreign));
        using var createMissing = await host.SendAsync(HttpMethod.Post, "/api/deals", a.Admin.AccessToken, Body(missing));
        using var updateForeign = await host.SendAsync(HttpMethod.Put, $"/api/deals/{ownDeal}", a.Admin.AccessToken, Body(foreign));
        using var updateMissing = await host.SendAsync(HttpMethod.Put, $"/api/deals/{ownDeal}", a.Admin.AccessToken, Body(missing));

        createForeign.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await createForeign.ProblemAsync())["detail"]!.GetValue<string>().Should().StartWith(link);
        (await createForeign.BodyWithoutTraceAsync()).Should().Be(await createMissing.BodyWithoutTraceAsync());
        updateForeign.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await updateForeign.BodyWithoutTraceAsync()).Should().Be(await updateMissing.BodyWithoutTraceAsync());
        (await CountAsync(host, a.Id, "deals")).Should().Be(1);
        (await CountAsync(host, a.Id, "deal_contacts")).Should().Be(0);
        (await ScalarAsync(host, $"SELECT version FROM deals WHERE id = '{ownDeal}'")).Should().Be(1);
    }

    [Fact]
    public async Task AnotherTenantsDealAnswersExactlyLikeAMissingOneAndStaysUntouched()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        var ownCustomer = await ContactsTests.CreateCustomerAsync(host, a.Admin.AccessToken, "A's");
        var ownStage = (await StagesAsync(host, a.Admin.AccessToken))[4].Id;
        var foreignCustomer = await ContactsTests.CreateCustomerAsync(host, b.Admin.AccessToken, "B's");
        var foreign = (await CreateDealAsync(host, b.Admin.AccessToken, Deal(foreignCustomer, "B's deal", 7m)))["id"]!.GetValue<string>();
        var missing = Guid.NewGuid().ToString();
        var requests = new (HttpMethod Method, string Suffix, object? Body)[]
        {
            (HttpMethod.Get, "", null),
            (HttpMethod.Put, "", Deal(ownCustomer, "taken", 1m)),
            (HttpMethod.Post, "/stage", new { stageId = ownStage }),
            (HttpMethod.Delete, "", null),
        };

        foreach (var (method, suffix, body) in requests)
        {
            using var toForeign = await host.SendAsync(method, $"/api/deals/{foreign}{suffix}", a.Admin.AccessToken, body);
            using var toMissing = await host.SendAsync(method, $"/api/deals/{missing}{suffix}", a.Admin.AccessToken, body);

            toForeign.StatusCode.Should().Be(HttpStatusCode.NotFound, $"{method} {suffix}");
            (await toForeign.ProblemAsync())["detail"]!.GetValue<string>().Should().Be("No such deal.");
            (await toForeign.BodyWithoutTraceAsync()).Should().Be(await toMissing.BodyWithoutTraceAsync(), $"{method} {suffix}");
        }

        using var list = await host.SendAsync(HttpMethod.Get, $"/api/deals?customerId={foreignCustomer}", a.Admin.AccessToken);
        (await list.JsonAsync())["items"]!.AsArray().Should().BeEmpty();
        using var intact = await host.SendAsync(HttpMethod.Get, $"/api/deals/{foreign}", b.Admin.AccessToken);
        var deal = await intact.JsonAsync();
        deal["name"]!.GetValue<string>().Should().Be("B's deal");
        deal["version"]!.GetValue<int>().Should().Be(1);
        (await CountAsync(host, a.Id, "deals")).Should().Be(0);
    }

    [Fact]
    public async Task ACustomerWithContactsAndDealsIsDeletedOnlyWithCascadeWhichRemovesAndAuditsEachRecord()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var storageBefore = await StorageAsync(host, token);
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Initech");
        var contacts = new[]
        {
            await ContactsTests.CreateContactAsync(host, token, new { lastName = "Lumbergh", customerId = customer }),
            await ContactsTests.CreateContactAsync(host, token, new { lastName = "Gibbons", customerId = customer }),
        };
        var deals = new[]
        {
            (await CreateDealAsync(host, token, new { name = "TPS", customerId = customer, contactIds = contacts, amount = 10, currency = "USD" }))["id"]!.GetValue<string>(),
            (await CreateDealAsync(host, token, Deal(customer, "Stapler", 2m)))["id"]!.GetValue<string>(),
        };
        var other = await ContactsTests.CreateCustomerAsync(host, token, "Elsewhere");
        var kept = (await CreateDealAsync(host, token, Deal(other, "Kept", 3m)))["id"]!.GetValue<string>();
        var storageWith = await StorageAsync(host, token);
        using (var warm = await host.SendAsync(HttpMethod.Get, $"/api/deals/{deals[0]}", token))
        {
            warm.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        (await PipelineDealCountAsync(host, token)).Should().Be(3, "the pipeline's summary is read (and kept) before the cascade");

        using var refused = await host.SendAsync(HttpMethod.Delete, $"/api/customers/{customer}", token);
        refused.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await refused.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("2 contacts and 2 deals");
        (await CountAsync(host, tenant.Id, "deals")).Should().Be(3);

        using var cascaded = await host.SendAsync(HttpMethod.Delete, $"/api/customers/{customer}?cascade=true", token);

        cascaded.StatusCode.Should().Be(HttpStatusCode.NoContent, await cascaded.Content.ReadAsStringAsync());
        (await CountAsync(host, tenant.Id, "deals")).Should().Be(1);
        (await CountAsync(host, tenant.Id, "deal_contacts")).Should().Be(0);
        (await CountAsync(host, tenant.Id, "contacts")).Should().Be(0);
        foreach (var id in deals)
        {
            using var gone = await host.SendAsync(HttpMethod.Get, $"/api/deals/{id}", token);
            gone.StatusCode.Should().Be(HttpStatusCode.NotFound, "a removed deal's grain does not keep serving it");
        }

        (await PipelineDealCountAsync(host, token)).Should().Be(1, "the cascade tells the pipeline its kept summary is stale");
        using var stillThere = await host.SendAsync(HttpMethod.Get, $"/api/deals/{kept}", token);
        stillThere.StatusCode.Should().Be(HttpStatusCode.OK);
        using var dealAudit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=deal.deleted", token);
        var removedDeals = (await dealAudit.JsonAsync())["items"]!.AsArray();
        removedDeals.Select(e => e!["target"]!["id"]!.GetValue<string>()).Should().BeEquivalentTo(deals);
        removedDeals.Should().OnlyContain(e => e!["details"]!["cascade"]!.GetValue<bool>() && e["details"]!["customerId"]!.GetValue<string>() == customer);
        using var contactAudit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=contact.deleted", token);
        (await contactAudit.JsonAsync())["items"]!.AsArray().Select(e => e!["target"]!["id"]!.GetValue<string>()).Should().BeEquivalentTo(contacts);
        (storageWith - storageBefore).Should().Be(
            (100 + "Initech".Length) + (100 + "Lumbergh".Length) + (100 + "Gibbons".Length) + (100 + 3 + 3 + 32) + (100 + 7 + 3)
            + (100 + "Elsewhere".Length) + (100 + 4 + 3));
        (await StorageAsync(host, token) - storageBefore).Should().Be((100 + "Elsewhere".Length) + (100 + 4 + 3), "the customer's, its contacts' and its deals' bytes are freed");
    }

    [Fact]
    public async Task AContactOnADealIsNotRemovedUntilTheDealLetsItGo()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Links");
        var elsewhere = await ContactsTests.CreateCustomerAsync(host, token, "Elsewhere");
        var contact = await ContactsTests.CreateContactAsync(host, token, new { lastName = "Linked", customerId = elsewhere });
        var deal = (await CreateDealAsync(host, token, new { name = "Linked", customerId = customer, contactIds = new[] { contact }, amount = 1, currency = "EUR" }))["id"]!.GetValue<string>();

        using var refused = await host.SendAsync(HttpMethod.Delete, $"/api/contacts/{contact}", token);
        using var cascadeRefused = await host.SendAsync(HttpMethod.Delete, $"/api/customers/{elsewhere}?cascade=true", token);
        using var dealDeleted = await host.SendAsync(HttpMethod.Delete, $"/api/deals/{deal}", token);
        using var removed = await host.SendAsync(HttpMethod.Delete, $"/api/contacts/{contact}", token);

        refused.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await refused.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("on one or more deals");
        cascadeRefused.StatusCode.Should().Be(HttpStatusCode.Conflict, "the cascade would remove a contact another customer's deal names");
        (await cascadeRefused.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("another customer's deal");
        dealDeleted.StatusCode.Should().Be(HttpStatusCode.NoContent);
        removed.StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await CountAsync(host, tenant.Id, "deal_contacts")).Should().Be(0);
    }

    [Fact]
    public async Task DealsCountTowardsTheStorageQuotaAndAreRefusedBeyondIt()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Sized");
        var contacts = new[]
        {
            await ContactsTests.CreateContactAsync(host, token, new { lastName = "A" }),
            await ContactsTests.CreateContactAsync(host, token, new { lastName = "B" }),
        };
        var before = await StorageAsync(host, token);

        var id = (await CreateDealAsync(host, token, new { name = "Größe", customerId = customer, contactIds = contacts, amount = 1, currency = "EUR" }))["id"]!.GetValue<string>();
        var afterCreate = await StorageAsync(host, token);
        await UpdateAsync(host, token, id, new { name = "Small", customerId = customer, contactIds = contacts[..1], amount = 1, currency = "EUR" });
        var afterUpdate = await StorageAsync(host, token);
        await QuotasTests.OverrideAsync(host, tenant.Id, new { storageBytes = afterUpdate + 100 });
        using var tooBig = await host.SendAsync(HttpMethod.Post, "/api/deals", token, Deal(customer, "Beyond", 1m));
        using (var deleted = await host.SendAsync(HttpMethod.Delete, $"/api/deals/{id}", token))
        {
            deleted.StatusCode.Should().Be(HttpStatusCode.NoContent);
        }

        var afterDelete = await StorageAsync(host, token);

        (afterCreate - before).Should().Be(100 + "Größe"u8.Length + 3 + 2 * 16, "100 bytes, the name's UTF-8, the currency and 16 per contact");
        (afterUpdate - before).Should().Be(100 + 5 + 3 + 16);
        tooBig.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await tooBig.ProblemAsync())["quota"]!.GetValue<string>().Should().Be("storageBytes");
        afterDelete.Should().Be(before);
        (await CountAsync(host, tenant.Id, "deals")).Should().Be(0);
    }

    [Fact]
    public async Task ASuspendedTenantsDealsAndPipelineAreRefusedLikeItsCustomers()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Held");
        var stages = await StagesAsync(host, token);
        var id = (await CreateDealAsync(host, token, Deal(customer, "Held", 1m)))["id"]!.GetValue<string>();
        using var anonymous = await host.SendAsync(HttpMethod.Get, $"/api/deals/{id}", null);
        (await Tenants.TenantLifecycleTests.ApplyAsync(host, tenant.Id, "suspend")).EnsureSuccessStatusCode().Dispose();
        var requests = new (HttpMethod Method, string Path, object? Body)[]
        {
            (HttpMethod.Get, "/api/customers", null),
            (HttpMethod.Get, "/api/deals", null),
            (HttpMethod.Post, "/api/deals", Deal(customer, "New", 1m)),
            (HttpMethod.Get, $"/api/deals/{id}", null),
            (HttpMethod.Put, $"/api/deals/{id}", Deal(customer, "Changed", 2m)),
            (HttpMethod.Post, $"/api/deals/{id}/stage", new { stageId = stages[4].Id }),
            (HttpMethod.Delete, $"/api/deals/{id}", null),
            (HttpMethod.Get, "/api/pipeline", null),
            (HttpMethod.Put, "/api/pipeline/stages", new { stages = stages.Select(s => new { id = s.Id, name = s.Name + "!", kind = s.Kind, probability = s.Probability }) }),
        };

        foreach (var (method, path, body) in requests)
        {
            using var response = await host.SendAsync(method, path, token, body);
            response.StatusCode.Should().Be(HttpStatusCode.Forbidden, $"{method} {path}");
            (await response.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("tenant-suspended"), $"{method} {path}");
        }

        anonymous.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await ScalarAsync(host, $"SELECT name || ' ' || version FROM deals WHERE id = '{id}'")).Should().Be("Held 1");
        (await ScalarAsync(host, $"SELECT count(*) FROM pipeline_stages WHERE tenant_id = '{tenant.Id}' AND name LIKE '%!'")).Should().Be(0L);
    }

    internal sealed record Stage(string Id, string Name, string Kind, int Probability, int Count, JsonArray Totals);

    [Fact]
    public async Task ADealsRowCarriesExactlyItsLinksThroughCreatesAndUpdates()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Links");
        var people = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            people.Add(await ContactsTests.CreateContactAsync(host, token, new { lastName = $"Person {i}", customerId = customer }));
        }

        var deal = (await CreateDealAsync(host, token, new { name = "Linked", customerId = customer, contactIds = people.Take(2), amount = 1, currency = "EUR" }))["id"]!.GetValue<string>();
        await UpdateAsync(host, token, deal, new { name = "Linked", customerId = customer, contactIds = people.Skip(1), amount = 1, currency = "EUR" });
        var other = (await CreateDealAsync(host, token, new { name = "Unlinked", customerId = customer, amount = 2, currency = "EUR" }))["id"]!.GetValue<string>();

        // The row's copy (what reads use) and the links (what the foreign keys guard) agree, in uuid order.
        var mismatches = await ScalarAsync(host,
            $"""
            SELECT count(*) FROM deals d WHERE d.tenant_id = '{tenant.Id}'
              AND d.contact_ids IS DISTINCT FROM ARRAY(SELECT dc.contact_id FROM deal_contacts dc WHERE dc.tenant_id = d.tenant_id AND dc.deal_id = d.id ORDER BY dc.contact_id)
            """);
        ((long)mismatches!).Should().Be(0);
        var stored = (Guid[])(await ScalarAsync(host, $"SELECT contact_ids FROM deals WHERE tenant_id = '{tenant.Id}' AND id = '{deal}'"))!;
        stored.Select(g => g.ToString("D")).Should().BeEquivalentTo(people.Skip(1));
        ((Guid[])(await ScalarAsync(host, $"SELECT contact_ids FROM deals WHERE tenant_id = '{tenant.Id}' AND id = '{other}'"))!).Should().BeEmpty();
    }

    internal static object Deal(string customer, string name, decimal amount, string? stageId = null, string currency = "EUR") =>
        new { name, customerId = customer, amount, currency, stageId };

    internal static async Task<JsonObject> CreateDealAsync(ApiHost host, string token, object body)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/deals", token, body);
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.JsonAsync();
    }

    internal static async Task<JsonObject> UpdateAsync(ApiHost host, string token, string id, object body)
    {
        using var response = await host.SendAsync(HttpMethod.Put, $"/api/deals/{id}", token, body);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.JsonAsync();
    }

    internal static async Task<JsonObject> MoveAsync(ApiHost host, string token, string id, string stageId)
    {
        using var response = await host.SendAsync(HttpMethod.Post, $"/api/deals/{id}/stage", token, new { stageId });
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var deal = await response.JsonAsync();
        response.Headers.ETag!.Tag.Should().Be($"\"{deal["version"]}\"");
        return deal;
    }

    /// <summary>The tenant's pipeline as <c>GET /api/pipeline</c> answers it.</summary>
    internal static async Task<List<Stage>> StagesAsync(ApiHost host, string token)
    {
        using var response = await host.SendAsync(HttpMethod.Get, "/api/pipeline", token);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["stages"]!.AsArray().Select(s => new Stage(s!["id"]!.GetValue<string>(), s["name"]!.GetValue<string>(),
            s["kind"]!.GetValue<string>(), s["probability"]!.GetValue<int>(), s["count"]!.GetValue<int>(), s["totals"]!.AsArray())).ToList();
    }

    internal static string UserId(Session session) => session.Body["user"]!["id"]!.GetValue<string>();

    internal static async Task<HttpResponseMessage> SendAsync(ApiHost host, HttpMethod method, string path, string token, string? ifMatch, object? body = null,
        string? idempotencyKey = null)
    {
        using var request = ApiHost.Authorized(method, path, token);
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        if (body is not null)
        {
            request.Content = System.Net.Http.Json.JsonContent.Create(body);
        }

        return await host.Client.SendAsync(request);
    }

    /// <summary>A body sent as written: the exact number text of an amount, a field that JSON objects cannot repeat.</summary>
    internal static async Task<HttpResponseMessage> PostJsonAsync(ApiHost host, string path, string token, string json)
    {
        using var request = ApiHost.Authorized(HttpMethod.Post, path, token);
        request.Content = new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        return await host.Client.SendAsync(request);
    }

    internal static async Task<long> StorageAsync(ApiHost host, string token) =>
        (await QuotasTests.QuotasAsync(host, token))["quotas"]!["storageBytes"]!["used"]!.GetValue<long>();

    /// <summary>The tenant's rows of <paramref name="table"/> as the database holds them (the superuser: no row-level security in the way).</summary>
    internal static async Task<long> CountAsync(ApiHost host, Guid tenant, string table) =>
        (long)(await ScalarAsync(host, $"SELECT count(*) FROM {table} WHERE tenant_id = '{tenant}'"))!;

    internal static async Task<object?> ScalarAsync(ApiHost host, string sql)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>The deals GET /api/pipeline counts over every stage.</summary>
    private static async Task<int> PipelineDealCountAsync(ApiHost host, string token)
    {
        using var pipeline = await host.SendAsync(HttpMethod.Get, "/api/pipeline", token);
        pipeline.StatusCode.Should().Be(HttpStatusCode.OK);
        return (await pipeline.JsonAsync())["stages"]!.AsArray().Sum(s => s!["count"]!.GetValue<int>());
    }
}
