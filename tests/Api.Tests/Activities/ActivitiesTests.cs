using System.Net;
using System.Text.Json.Nodes;
using Shohayota.Api.Tests.Contacts;
using Shohayota.Api.Tests.Infrastructure;
using static Shohayota.Api.Tests.Deals.DealsTests;

namespace Shohayota.Api.Tests.Activities;

/// <summary>
/// Notes, tasks, calls and meetings: their rules, completion, "my tasks" filters, and the guarantees every record has
/// (version, Idempotency-Key, audit, storage quota, isolation of links, the delete of what they are about).
/// </summary>
public sealed class ActivitiesTests
{
    [Fact]
    public async Task ANoteAndATaskReadBackExactlyAndATaskIsCompletedOnceAndReopened()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Globex");
        const string body = "Called Hank.\n\n* **budget**: =1+1\n* next: \"demo\"; DROP TABLE activities; -- 😀";

        var note = await CreateAsync(host, token, new { type = "note", subject = "First call", body, customerId = customer });
        var task = await CreateAsync(host, token,
            new { type = "task", subject = "Send the proposal", customerId = customer, dueAt = "2027-03-04T05:06:07.1234567+02:00", assigneeUserId = UserId(tenant.Admin) });
        var taskId = task["id"]!.GetValue<string>();
        using var read = await host.SendAsync(HttpMethod.Get, $"/api/activities/{note["id"]}", token);
        using var completed = await SendAsync(host, HttpMethod.Post, $"/api/activities/{taskId}/complete", token, "\"1\"");
        using var again = await SendAsync(host, HttpMethod.Post, $"/api/activities/{taskId}/complete", token, null);
        using var reopened = await SendAsync(host, HttpMethod.Post, $"/api/activities/{taskId}/complete", token, "\"2\"", new { done = false });
        using var noteDone = await SendAsync(host, HttpMethod.Post, $"/api/activities/{note["id"]}/complete", token, null);
        using var timeline = await host.SendAsync(HttpMethod.Get, $"/api/customers/{customer}/timeline", token);

        read.StatusCode.Should().Be(HttpStatusCode.OK);
        read.Headers.ETag!.Tag.Should().Be("\"1\"");
        var stored = await read.JsonAsync();
        stored["type"]!.GetValue<string>().Should().Be("note");
        stored["body"]!.GetValue<string>().Should().Be(body);
        stored["done"]!.GetValue<bool>().Should().BeFalse();
        stored["dueAt"].Should().BeNull();
        task["dueAt"]!.GetValue<DateTimeOffset>().Should().Be(DateTimeOffset.Parse("2027-03-04T03:06:07.123456Z", System.Globalization.CultureInfo.InvariantCulture));
        task["assigneeUserId"]!.GetValue<string>().Should().Be(UserId(tenant.Admin));
        completed.StatusCode.Should().Be(HttpStatusCode.OK, await completed.Content.ReadAsStringAsync());
        var done = await completed.JsonAsync();
        done["done"]!.GetValue<bool>().Should().BeTrue();
        done["completedAt"].Should().NotBeNull();
        done["version"]!.GetValue<int>().Should().Be(2);
        var doneAgain = await again.JsonAsync();
        doneAgain["version"]!.GetValue<int>().Should().Be(2, "completing a done task again changes nothing");
        doneAgain["completedAt"]!.GetValue<DateTimeOffset>().Should().Be(done["completedAt"]!.GetValue<DateTimeOffset>());
        var open = await reopened.JsonAsync();
        open["done"]!.GetValue<bool>().Should().BeFalse();
        open["completedAt"].Should().BeNull();
        open["version"]!.GetValue<int>().Should().Be(3);
        noteDone.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await noteDone.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().Equal("done");
        var actions = (await timeline.JsonAsync())["items"]!.AsArray().Select(i => i!["action"]!.GetValue<string>()).ToList();
        actions.Should().ContainInOrder("activity.reopened", "activity.completed", "activity.created", "activity.created", "customer.created");
        actions.Count(a => a == "activity.completed").Should().Be(1);
        (await ScalarAsync(host, $"SELECT count(*) FROM audit_logs WHERE target_id = '{taskId}'")).Should().Be(3L);
    }

    public static TheoryData<string, string> Invalid => new()
    {
        { """{"type":"memo","subject":"x","customerId":"C"}""", "type" },
        { """{"type":"note","subject":"","customerId":"C"}""", "subject" },
        { """{"type":"note","subject":"x"}""", "customerId" },
        { """{"type":"note","subject":"x","customerId":"C","dueAt":"2027-01-01T00:00:00Z"}""", "dueAt" },
        { """{"type":"note","subject":"x","customerId":"C","done":true}""", "done" },
        { """{"type":"task","subject":"x","customerId":"C","body":"LONG"}""", "body" },
        { """{"type":"task","subject":"x","customerId":"00000000-0000-0000-0000-000000000000"}""", "customerId" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task AnInvalidActivityIsRefusedNamingItsFieldAndWritesNothing(string json, string field)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Globex");

        using var response = await PostJsonAsync(host, "/api/activities", token,
            json.Replace("\"C\"", $"\"{customer}\"", StringComparison.Ordinal).Replace("LONG", new string('x', 20_001), StringComparison.Ordinal));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await response.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().Contain(field);
        (await CountAsync(host, tenant.Id, "activities")).Should().Be(0);
    }

    public static TheoryData<string> Links => ["customerId", "contactId", "dealId", "assigneeUserId"];

    [Theory]
    [MemberData(nameof(Links))]
    public async Task AnotherTenantsRecordInALinkIsRefusedExactlyLikeAMissingOne(string link)
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        var own = await ContactsTests.CreateCustomerAsync(host, a.Admin.AccessToken, "Own");
        var ownActivity = (await CreateAsync(host, a.Admin.AccessToken, new { type = "task", subject = "own", customerId = own }))["id"]!.GetValue<string>();
        var bCustomer = await ContactsTests.CreateCustomerAsync(host, b.Admin.AccessToken, "B's");
        var foreign = link switch
        {
            "customerId" => bCustomer,
            "contactId" => await ContactsTests.CreateContactAsync(host, b.Admin.AccessToken, new { lastName = "B's" }),
            "dealId" => (await CreateDealAsync(host, b.Admin.AccessToken, Deal(bCustomer, "B's", 1m)))["id"]!.GetValue<string>(),
            _ => UserId(b.Admin),
        };
        object Body(string id) => link switch
        {
            "customerId" => new { type = "task", subject = "x", customerId = id },
            "contactId" => new { type = "task", subject = "x", contactId = id },
            "dealId" => new { type = "task", subject = "x", dealId = id },
            _ => (object)new { type = "task", subject = "x", customerId = own, assigneeUserId = id },
        };
        var missing = Guid.NewGuid().ToString();

        using var createForeign = await host.SendAsync(HttpMethod.Post, "/api/activities", a.Admin.AccessToken, Body(foreign));
        using var createMissing = await host.SendAsync(HttpMethod.Post, "/api/activities", a.Admin.AccessToken, Body(missing));
        using var updateForeign = await host.SendAsync(HttpMethod.Put, $"/api/activities/{ownActivity}", a.Admin.AccessToken, Body(foreign));
        using var updateMissing = await host.SendAsync(HttpMethod.Put, $"/api/activities/{ownActivity}", a.Admin.AccessToken, Body(missing));

        createForeign.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await createForeign.ProblemAsync())["detail"]!.GetValue<string>().Should().StartWith(link);
        (await createForeign.BodyWithoutTraceAsync()).Should().Be(await createMissing.BodyWithoutTraceAsync());
        updateForeign.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await updateForeign.BodyWithoutTraceAsync()).Should().Be(await updateMissing.BodyWithoutTraceAsync());
        (await CountAsync(host, a.Id, "activities")).Should().Be(1);
        (await ScalarAsync(host, $"SELECT version FROM activities WHERE id = '{ownActivity}'")).Should().Be(1);
    }

    [Fact]
    public async Task MyTasksListsTheCallersOpenTasksByDueTimeOverdueTodayAndThisWeek()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var admin = tenant.Admin.AccessToken;
        var member = await host.AddUserAsync(tenant);
        var customer = await ContactsTests.CreateCustomerAsync(host, admin, "Globex");
        // A zone where it is about noon now, so "in a minute" and "a minute ago" are today whatever the time in UTC.
        var now = DateTimeOffset.UtcNow;
        var offset = 12 - now.Hour;
        var zone = Uri.EscapeDataString(offset == 0 ? "Etc/UTC" : $"Etc/GMT{(offset > 0 ? "-" : "+")}{Math.Abs(offset)}");
        string At(TimeSpan from) => (now + from).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        async Task<string> Task(string subject, TimeSpan? due, Session? assignee, string type = "task") =>
            (await CreateAsync(host, admin, new { type, subject, customerId = customer, dueAt = due is { } d ? At(d) : null, assigneeUserId = assignee is null ? null : UserId(assignee) }))["id"]!.GetValue<string>();

        var overdue = await Task("overdue", TimeSpan.FromDays(-2), member);
        var soonPast = await Task("a minute ago", TimeSpan.FromMinutes(-1), member, "call");
        var today = await Task("in a minute", TimeSpan.FromMinutes(1), member, "meeting");
        var inThreeDays = await Task("in three days", TimeSpan.FromDays(3), member);
        var later = await Task("in ten days", TimeSpan.FromDays(10), member);
        var undated = await Task("undated", null, member);
        var others = await Task("the admin's", TimeSpan.FromDays(-2), tenant.Admin);
        var doneOverdue = await Task("done", TimeSpan.FromDays(-3), member);
        using (var complete = await SendAsync(host, HttpMethod.Post, $"/api/activities/{doneOverdue}/complete", member.AccessToken, null))
        {
            complete.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        async Task<List<string>> Ids(string query, string token)
        {
            using var response = await host.SendAsync(HttpMethod.Get, $"/api/activities?{query}", token);
            response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            return (await response.JsonAsync())["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()).ToList();
        }

        (await Ids("assignee=me&done=false&sort=dueAt", member.AccessToken)).Should().Equal(overdue, soonPast, today, inThreeDays, later, undated);
        (await Ids("assignee=me&due=overdue&sort=dueAt", member.AccessToken)).Should().Equal(overdue, soonPast);
        (await Ids($"assignee=me&due=today&tz={zone}&sort=dueAt", member.AccessToken)).Should().Equal(soonPast, today);
        (await Ids($"assignee=me&due=week&tz={zone}&done=false&sort=dueAt", member.AccessToken)).Should().Equal(soonPast, today, inThreeDays);
        (await Ids("assignee=me&done=true", member.AccessToken)).Should().Equal(doneOverdue);
        (await Ids("assignee=me&due=overdue", admin)).Should().Equal(others);
        (await Ids($"assignee={UserId(member)}&type=meeting", admin)).Should().Equal(today);
        (await Ids("assignee=me&sort=-dueAt&done=false", member.AccessToken)).Should().Equal(undated, later, inThreeDays, today, soonPast, overdue);

        // Keyset pages of two, by due time (undated last), make up the whole list.
        var paged = new List<string>();
        string? cursor = null;
        do
        {
            using var page = await host.SendAsync(HttpMethod.Get,
                $"/api/activities?assignee=me&done=false&sort=dueAt&pageSize=2{(cursor is null ? "" : $"&cursor={cursor}")}", member.AccessToken);
            var json = await page.JsonAsync();
            paged.AddRange(json["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()));
            cursor = json["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null);

        paged.Should().Equal(overdue, soonPast, today, inThreeDays, later, undated);
    }

    [Theory]
    [InlineData("due=tomorrow", "due")]
    [InlineData("due=today&tz=Mars/Olympus", "tz")]
    [InlineData("done=yes", "done")]
    [InlineData("type=memo", "type")]
    [InlineData("assignee=someone", "assignee")]
    [InlineData("due=overdue&done=true", "done")]
    [InlineData("sort=subject", "sort")]
    [InlineData("subject=x", "subject")]
    [InlineData("cursor=bm90LWEtY3Vyc29y", "cursor")]
    public async Task AnInvalidListParameterIsRefusedNamingIt(string query, string field)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var response = await host.SendAsync(HttpMethod.Get, $"/api/activities?{query}", tenant.Admin.AccessToken);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        (await response.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().Contain(field);
    }

    [Fact]
    public async Task AnApiKeyHasNoTasksOfItsOwnButListsAUsers()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var customer = await ContactsTests.CreateCustomerAsync(host, tenant.Admin.AccessToken, "Globex");
        var task = (await CreateAsync(host, tenant.Admin.AccessToken, new { type = "task", subject = "x", customerId = customer, assigneeUserId = UserId(tenant.Admin) }))["id"]!.GetValue<string>();
        using var created = await host.SendAsync(HttpMethod.Post, "/api/api-keys", tenant.Admin.AccessToken, new { name = "sync", role = "member" });
        var key = (await created.JsonAsync())["secret"]!.GetValue<string>();

        using var me = await host.SendAsync(HttpMethod.Get, "/api/activities?assignee=me", key);
        using var theirs = await host.SendAsync(HttpMethod.Get, $"/api/activities?assignee={UserId(tenant.Admin)}", key);

        me.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await me.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().Equal("assignee");
        (await theirs.JsonAsync())["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()).Should().Equal(task);
    }

    [Fact]
    public async Task ACustomersActivitiesIncludeThoseAboutItsContactsAndDeals()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Globex");
        var other = await ContactsTests.CreateCustomerAsync(host, token, "Initech");
        var contact = await ContactsTests.CreateContactAsync(host, token, new { lastName = "Simpson", customerId = customer });
        var deal = (await CreateDealAsync(host, token, Deal(customer, "Reactor", 10m)))["id"]!.GetValue<string>();
        var onCustomer = (await CreateAsync(host, token, new { type = "note", subject = "on customer", customerId = customer }))["id"]!.GetValue<string>();
        var onContact = (await CreateAsync(host, token, new { type = "call", subject = "on contact", contactId = contact }))["id"]!.GetValue<string>();
        var onDeal = (await CreateAsync(host, token, new { type = "meeting", subject = "on deal", dealId = deal }))["id"]!.GetValue<string>();
        var onOther = (await CreateAsync(host, token, new { type = "note", subject = "elsewhere", customerId = other }))["id"]!.GetValue<string>();

        using var about = await host.SendAsync(HttpMethod.Get, $"/api/activities?customerId={customer}&sort=createdAt", token);
        using var byDeal = await host.SendAsync(HttpMethod.Get, $"/api/activities?dealId={deal}", token);
        using var byContact = await host.SendAsync(HttpMethod.Get, $"/api/activities?contactId={contact}", token);
        using var timeline = await host.SendAsync(HttpMethod.Get, $"/api/customers/{customer}/timeline", token);

        (await about.JsonAsync())["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()).Should().Equal(onCustomer, onContact, onDeal);
        (await byDeal.JsonAsync())["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()).Should().Equal(onDeal);
        (await byContact.JsonAsync())["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()).Should().Equal(onContact);
        var targets = (await timeline.JsonAsync())["items"]!.AsArray().Where(i => i!["action"]!.GetValue<string>() == "activity.created")
            .Select(i => i!["targetId"]!.GetValue<string>()).ToList();
        targets.Should().BeEquivalentTo([onCustomer, onContact, onDeal]).And.NotContain(onOther);
    }

    [Fact]
    public async Task AContactOrDealWithActivitiesIsKeptAndACustomerCascadeRemovesThemAllWithAnEntryEach()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var storageEmpty = await StorageAsync(host, token);
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Globex");
        var contact = await ContactsTests.CreateContactAsync(host, token, new { lastName = "Simpson", customerId = customer });
        var deal = (await CreateDealAsync(host, token, Deal(customer, "Reactor", 10m)))["id"]!.GetValue<string>();
        var storageBefore = await StorageAsync(host, token);
        await CreateAsync(host, token, new { type = "note", subject = "on customer", body = new string('b', 1000), customerId = customer });
        await CreateAsync(host, token, new { type = "call", subject = "on contact", contactId = contact });
        await CreateAsync(host, token, new { type = "task", subject = "on deal", dealId = deal });
        await CreateAsync(host, token, new { type = "task", subject = "on deal again", dealId = deal });
        var storageWith = await StorageAsync(host, token);

        using var contactDelete = await host.SendAsync(HttpMethod.Delete, $"/api/contacts/{contact}", token);
        using var dealDelete = await host.SendAsync(HttpMethod.Delete, $"/api/deals/{deal}", token);
        using var plain = await host.SendAsync(HttpMethod.Delete, $"/api/customers/{customer}", token);
        var countsBefore = await CountAsync(host, tenant.Id, "activities");
        using var cascade = await host.SendAsync(HttpMethod.Delete, $"/api/customers/{customer}?cascade=true", token);

        storageWith.Should().Be(storageBefore + 4 * 100 + 1000 + "on customer".Length + "on contact".Length + "on deal".Length + "on deal again".Length);
        contactDelete.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await contactDelete.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("1 activity");
        dealDelete.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await dealDelete.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("2 activities");
        plain.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await plain.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("1 contact, 1 deal and 4 activities");
        countsBefore.Should().Be(4);
        cascade.StatusCode.Should().Be(HttpStatusCode.NoContent, await cascade.Content.ReadAsStringAsync());
        (await CountAsync(host, tenant.Id, "activities")).Should().Be(0);
        (await ScalarAsync(host, $"SELECT count(*) FROM audit_logs WHERE tenant_id = '{tenant.Id}' AND action = 'activity.deleted'")).Should().Be(4L);
        // The customer, its contact, its deal and their activities went: the storage they counted is returned.
        (await StorageAsync(host, token)).Should().Be(storageEmpty);
    }

    [Fact]
    public async Task IfMatchAndIdempotencyKeyWorkAsForCustomersAndADeletedActivityIsGone()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var customer = await ContactsTests.CreateCustomerAsync(host, tenant.Admin.AccessToken, "Globex");
        var body = new { type = "task", subject = "Follow up", customerId = customer };

        using var first = await SendAsync(host, HttpMethod.Post, "/api/activities", member.AccessToken, null, body, "retry-1");
        using var retry = await SendAsync(host, HttpMethod.Post, "/api/activities", member.AccessToken, null, body, "retry-1");
        using var mismatch = await SendAsync(host, HttpMethod.Post, "/api/activities", member.AccessToken, null, body with { subject = "Other" }, "retry-1");
        var id = (await first.JsonAsync())["id"]!.GetValue<string>();
        using var stale = await SendAsync(host, HttpMethod.Put, $"/api/activities/{id}", member.AccessToken, "\"7\"", body);
        using var update = await SendAsync(host, HttpMethod.Put, $"/api/activities/{id}", member.AccessToken, "\"1\"", new { type = "meeting", subject = "Demo", customerId = customer, dueAt = "2027-05-01T09:00:00Z" });
        using var staleDelete = await SendAsync(host, HttpMethod.Delete, $"/api/activities/{id}", member.AccessToken, "\"1\"");
        using var delete = await SendAsync(host, HttpMethod.Delete, $"/api/activities/{id}", member.AccessToken, "\"2\"");
        using var gone = await host.SendAsync(HttpMethod.Get, $"/api/activities/{id}", member.AccessToken);

        first.StatusCode.Should().Be(HttpStatusCode.Created);
        retry.StatusCode.Should().Be(HttpStatusCode.Created);
        (await retry.JsonAsync())["id"]!.GetValue<string>().Should().Be(id);
        mismatch.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity);
        stale.StatusCode.Should().Be(HttpStatusCode.PreconditionFailed);
        update.StatusCode.Should().Be(HttpStatusCode.OK, await update.Content.ReadAsStringAsync());
        (await update.JsonAsync())["type"]!.GetValue<string>().Should().Be("meeting");
        staleDelete.StatusCode.Should().Be(HttpStatusCode.PreconditionFailed);
        delete.StatusCode.Should().Be(HttpStatusCode.NoContent);
        gone.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await ScalarAsync(host, $"SELECT string_agg(action, ',' ORDER BY seq) FROM audit_logs WHERE target_id = '{id}'"))
            .Should().Be("activity.created,activity.updated,activity.deleted");
    }

    [Fact]
    public async Task TheCsvExportStreamsEveryMatchingActivityWithFormulasDefused()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Globex");
        for (var i = 0; i < 3; i++)
        {
            await CreateAsync(host, token, new { type = "task", subject = $"=HYPERLINK(\"x\",\"{i}\")", body = "line 1\nline, \"2\"", customerId = customer });
        }

        await CreateAsync(host, token, new { type = "note", subject = "a note", customerId = customer });
        using var request = ApiHost.Authorized(HttpMethod.Get, "/api/activities?type=task", token);
        request.Headers.Accept.ParseAdd("text/csv");
        using var response = await host.Client.SendAsync(request);
        var csv = await response.Content.ReadAsStringAsync();

        response.StatusCode.Should().Be(HttpStatusCode.OK, csv);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/csv");
        csv.Should().StartWith("id,type,subject,body,dueAt,assigneeUserId,customerId,contactId,dealId,done,completedAt,createdAt,updatedAt,version");
        csv.Should().Contain("\"'=HYPERLINK(\"\"x\"\",\"\"0\"\")\"").And.Contain("\"line 1\nline, \"\"2\"\"\"").And.NotContain("a note");
    }

    [Fact]
    public async Task AContactOrDealDeletedWithCascadeTakesItsActivitiesWithAnEntryEachAndReturnsTheirStorage()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Initech");
        var storageWithCustomer = await StorageAsync(host, token);
        var contact = await ContactsTests.CreateContactAsync(host, token, new { lastName = "Lumbergh", customerId = customer });
        var deal = (await CreateDealAsync(host, token, Deal(customer, "TPS reports", 10m)))["id"]!.GetValue<string>();
        var storageRecords = await StorageAsync(host, token);
        var note = (await CreateAsync(host, token, new { type = "note", subject = "on customer", customerId = customer }))["id"]!.GetValue<string>();
        var call = (await CreateAsync(host, token, new { type = "call", subject = "on contact", contactId = contact }))["id"]!.GetValue<string>();
        var both = (await CreateAsync(host, token, new { type = "meeting", subject = "on both", contactId = contact, dealId = deal }))["id"]!.GetValue<string>();
        var task = (await CreateAsync(host, token, new { type = "task", subject = "on deal", body = new string('t', 500), dealId = deal }))["id"]!.GetValue<string>();
        var storageWith = await StorageAsync(host, token);

        using var plain = await host.SendAsync(HttpMethod.Delete, $"/api/contacts/{contact}", token);
        using var badValue = await host.SendAsync(HttpMethod.Delete, $"/api/contacts/{contact}?cascade=yes", token);
        using var unknown = await host.SendAsync(HttpMethod.Delete, $"/api/deals/{deal}?force=true", token);
        using var activityCascade = await host.SendAsync(HttpMethod.Delete, $"/api/activities/{note}?cascade=true", token);
        using var contactCascade = await host.SendAsync(HttpMethod.Delete, $"/api/contacts/{contact}?cascade=true", token);
        var afterContact = (await ScalarAsync(host, $"SELECT string_agg(subject, ',' ORDER BY subject) FROM activities WHERE tenant_id = '{tenant.Id}'"))?.ToString();
        using var dealCascade = await host.SendAsync(HttpMethod.Delete, $"/api/deals/{deal}?cascade=true", token);
        using var bothRead = await host.SendAsync(HttpMethod.Get, $"/api/activities/{both}", token);
        using var taskRead = await host.SendAsync(HttpMethod.Get, $"/api/activities/{task}", token);
        using var noteRead = await host.SendAsync(HttpMethod.Get, $"/api/activities/{note}", token);

        plain.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await plain.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("2 activities").And.Contain("?cascade=true");
        foreach (var (refused, parameter) in new[] { (badValue, "cascade"), (unknown, "force"), (activityCascade, "cascade") })
        {
            refused.StatusCode.Should().Be(HttpStatusCode.BadRequest, parameter);
            (await refused.ProblemAsync())["errors"]!.AsObject().Select(e => e.Key).Should().Contain(parameter);
        }

        contactCascade.StatusCode.Should().Be(HttpStatusCode.NoContent, await contactCascade.Content.ReadAsStringAsync());
        afterContact.Should().Be("on customer,on deal", "the contact's call and the meeting on the contact and the deal went with it");
        dealCascade.StatusCode.Should().Be(HttpStatusCode.NoContent, await dealCascade.Content.ReadAsStringAsync());
        bothRead.StatusCode.Should().Be(HttpStatusCode.NotFound, "a removed activity's grain forgets it");
        taskRead.StatusCode.Should().Be(HttpStatusCode.NotFound);
        noteRead.StatusCode.Should().Be(HttpStatusCode.OK, "the customer's note is not the contact's or the deal's");
        (await CountAsync(host, tenant.Id, "activities")).Should().Be(1);
        (await ScalarAsync(host,
                $"SELECT string_agg(target_id || ':' || (details::jsonb ->> 'contactId' IS NOT NULL)::text || (details::jsonb ->> 'dealId' IS NOT NULL)::text || (details::jsonb ->> 'cascade'), ',' ORDER BY target_id) FROM audit_logs WHERE tenant_id = '{tenant.Id}' AND action = 'activity.deleted'"))
            ?.ToString().Should().Be(string.Join(',', new[] { $"{call}:truefalsetrue", $"{both}:truefalsetrue", $"{task}:falsetruetrue" }.Order(StringComparer.Ordinal)));
        storageWith.Should().Be(storageRecords + 4 * 100 + "on customer".Length + "on contact".Length + "on both".Length + "on deal".Length + 500);
        // The contact, the deal and their activities went: the storage left is the customer's and its note's.
        (await StorageAsync(host, token)).Should().Be(storageWithCustomer + 100 + "on customer".Length);
    }

    internal static async Task<JsonObject> CreateAsync(ApiHost host, string token, object body)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/activities", token, body);
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var created = await response.JsonAsync();
        response.Headers.Location!.ToString().Should().Be($"/api/activities/{created["id"]}");
        return created;
    }
}
