using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Isolation;

/// <summary>
/// Layer 1 of tenant isolation, driven by the app's own route table: every route must have an entry here, and every
/// tenant-scoped route is probed with own, foreign and missing ids for each tenant role.
/// </summary>
public sealed class IsolationMatrixTests
{
    private const int RequiredCrossTenantAttempts = 10_000;

    private enum Kind
    {
        Public,
        Self,
        SuperAdminOnly,
        Collection,
        Create,
        CustomerItem,
        ContactItem,
        DealItem,
        ActivityItem,
        ImportItem,
        UserItem,
        ApiKeyItem,
        SupportSessionItem,
        WebhookItem,

        /// <summary>A webhook's delivery: B's webhook and delivery, and A's own webhook with B's delivery.</summary>
        WebhookDeliveryItem,

        /// <summary>Reads one tenant's data; a foreign <c>?tenantId=</c> must be refused.</summary>
        TenantQuery,

        /// <summary>The web UI (cookie only, no bearer token): checked by <see cref="EveryUiRouteNeedsTheCookieAndItsRole"/>.</summary>
        Ui,
    }

    // A new route without an entry here fails RouteTableHasAMatrixEntryForEveryRoute.
    private static readonly Dictionary<string, Kind> Matrix = new(StringComparer.Ordinal)
    {
        ["GET /api/health"] = Kind.Public,
        ["POST /api/auth/login"] = Kind.Public,
        ["POST /api/auth/refresh"] = Kind.Public,
        ["POST /api/auth/logout"] = Kind.Public,
        ["GET /api/auth/me"] = Kind.Self,
        ["POST /api/auth/password"] = Kind.Self,
        ["POST /api/auth/sessions/revoke"] = Kind.Self,
        ["GET /api/users"] = Kind.Collection,
        ["POST /api/users"] = Kind.Create,
        ["POST /api/users/{id:guid}/disable"] = Kind.UserItem,
        ["POST /api/users/{id:guid}/enable"] = Kind.UserItem,
        ["POST /api/users/{id:guid}/sessions/revoke"] = Kind.UserItem,
        ["POST /api/admin/tenants/{id:guid}/sessions/revoke"] = Kind.SuperAdminOnly,
        ["GET /api/api-keys"] = Kind.Collection,
        ["POST /api/api-keys"] = Kind.Create,
        ["DELETE /api/api-keys/{id:guid}"] = Kind.ApiKeyItem,
        ["GET /api/webhooks"] = Kind.Collection,
        ["POST /api/webhooks"] = Kind.Create,
        ["GET /api/webhooks/{id:guid}"] = Kind.WebhookItem,
        ["PUT /api/webhooks/{id:guid}"] = Kind.WebhookItem,
        ["DELETE /api/webhooks/{id:guid}"] = Kind.WebhookItem,
        ["POST /api/webhooks/{id:guid}/rotate-secret"] = Kind.WebhookItem,
        ["GET /api/webhooks/{id:guid}/deliveries"] = Kind.WebhookItem,
        ["POST /api/webhooks/{id:guid}/deliveries/{deliveryId:guid}/redeliver"] = Kind.WebhookDeliveryItem,
        ["GET /api/tenants/support-sessions"] = Kind.Collection,
        ["DELETE /api/tenants/support-sessions/{id:guid}"] = Kind.SupportSessionItem,
        ["GET /api/tenants/settings"] = Kind.Collection,
        ["PUT /api/tenants/settings"] = Kind.Collection,
        ["GET /api/customers"] = Kind.Collection,
        ["POST /api/customers"] = Kind.Create,
        ["GET /api/customers/{id:guid}"] = Kind.CustomerItem,
        ["PUT /api/customers/{id:guid}"] = Kind.CustomerItem,
        ["DELETE /api/customers/{id:guid}"] = Kind.CustomerItem,
        ["GET /api/customers/{id:guid}/timeline"] = Kind.CustomerItem,
        ["GET /api/contacts"] = Kind.Collection,
        ["POST /api/contacts"] = Kind.Create,
        ["GET /api/contacts/{id:guid}"] = Kind.ContactItem,
        ["PUT /api/contacts/{id:guid}"] = Kind.ContactItem,
        ["DELETE /api/contacts/{id:guid}"] = Kind.ContactItem,
        ["GET /api/deals"] = Kind.Collection,
        ["POST /api/deals"] = Kind.Create,
        ["GET /api/deals/{id:guid}"] = Kind.DealItem,
        ["PUT /api/deals/{id:guid}"] = Kind.DealItem,
        ["DELETE /api/deals/{id:guid}"] = Kind.DealItem,
        ["POST /api/deals/{id:guid}/stage"] = Kind.DealItem,
        ["GET /api/activities"] = Kind.Collection,
        ["POST /api/activities"] = Kind.Create,
        ["GET /api/activities/{id:guid}"] = Kind.ActivityItem,
        ["PUT /api/activities/{id:guid}"] = Kind.ActivityItem,
        ["DELETE /api/activities/{id:guid}"] = Kind.ActivityItem,
        ["POST /api/activities/{id:guid}/complete"] = Kind.ActivityItem,
        ["GET /api/pipeline"] = Kind.Collection,
        ["PUT /api/pipeline/stages"] = Kind.Collection,
        ["GET /api/custom-fields/{recordType}"] = Kind.Collection,
        ["PUT /api/custom-fields/{recordType}"] = Kind.Collection,
        ["POST /api/imports/customers"] = Kind.Create,
        ["POST /api/imports/contacts"] = Kind.Create,
        ["GET /api/imports/{id:guid}"] = Kind.ImportItem,
        ["GET /api/audit-logs"] = Kind.TenantQuery,
        ["GET /api/audit-logs/verify"] = Kind.TenantQuery,
        ["GET /api/tenants/incidents"] = Kind.TenantQuery,
        ["POST /api/test/audit"] = Kind.Self,
        ["GET /api/tenants/export"] = Kind.TenantQuery,
        ["GET /api/tenants/quotas"] = Kind.TenantQuery,
        ["GET /api/tenants/usage"] = Kind.TenantQuery,
        ["GET /api/tenants/alerts"] = Kind.TenantQuery,
        ["GET /metrics"] = Kind.Public,
        // The OpenAPI document and its reference UI describe routes, not data (ApiDocumentTests).
        ["GET /openapi/v1.json"] = Kind.Public,
        ["GET /api/docs/{documentName?}"] = Kind.Public,
        ["GET /api/docs/scalar.js"] = Kind.Public,
        ["GET /api/docs/scalar.aspnetcore.js"] = Kind.Public,
        ["GET /api/docs/favicon.svg"] = Kind.Public,
    };

    [Fact]
    public async Task RouteTableHasAMatrixEntryForEveryRoute()
    {
        var host = await ApiHost.SharedAsync();

        var missing = Routes(host).Where(r => Classify(r) is null).ToList();

        missing.Select(r => $"{r.Method} {r.Pattern}").ToList().Should().BeEmpty("every route needs an isolation-matrix entry in {0}", nameof(IsolationMatrixTests));
    }

    [Fact]
    public async Task CrossTenantAttemptsOnEveryTenantRouteLeakNothingAndChangeNothing()
    {
        var host = await ApiHost.SharedAsync();
        // Enterprise: the probe sends thousands of requests a second, more than a pro tenant's rate limit allows.
        var a = await host.ProvisionTenantAsync("enterprise");
        var b = await host.ProvisionTenantAsync("enterprise");
        var aMember = await host.AddUserAsync(a);
        var ownCustomers = new List<string>();
        var foreignCustomers = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ownCustomers.Add(await CreateCustomerAsync(host, a.Admin.AccessToken, $"a-{i}"));
            foreignCustomers.Add(await CreateCustomerAsync(host, b.Admin.AccessToken, $"b-{i}"));
        }

        var foreignContacts = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            foreignContacts.Add(await CreateContactAsync(host, b.Admin.AccessToken, new { lastName = $"b-{i}", customerId = foreignCustomers[i] }));
        }

        var foreignImports = new List<string>();
        using (var import = await Contacts.ImportTests.PostCsvAsync(host, "/api/imports/contacts", b.Admin.AccessToken, "lastName\nimported\n"))
        {
            foreignImports.Add((await import.JsonAsync())["id"]!.GetValue<string>());
        }

        var ownContact = await CreateContactAsync(host, a.Admin.AccessToken, new { lastName = "a", customerId = ownCustomers[0] });
        var foreignStages = await StageIdsAsync(host, b.Admin.AccessToken);
        var ownStages = await StageIdsAsync(host, a.Admin.AccessToken);
        var foreignDeals = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            foreignDeals.Add(await CreateDealAsync(host, b.Admin.AccessToken,
                new { name = $"b-{i}", customerId = foreignCustomers[i], contactIds = new[] { foreignContacts[i] }, amount = 1.5m, currency = "EUR", stageId = foreignStages[i] }));
        }

        var ownDeal = await CreateDealAsync(host, a.Admin.AccessToken, new { name = "a", customerId = ownCustomers[0], amount = 1, currency = "EUR" });
        var foreignActivities = new List<string>
        {
            await CreateActivityAsync(host, b.Admin.AccessToken, new { type = "task", subject = "b-task", customerId = foreignCustomers[0], dueAt = "2026-01-01T00:00:00Z" }),
            await CreateActivityAsync(host, b.Admin.AccessToken, new { type = "note", subject = "b-note", contactId = foreignContacts[0], body = "secret" }),
            await CreateActivityAsync(host, b.Admin.AccessToken, new { type = "call", subject = "b-call", dealId = foreignDeals[0] }),
        };
        var ownActivity = await CreateActivityAsync(host, a.Admin.AccessToken, new { type = "task", subject = "a-task", customerId = ownCustomers[0] });
        var bMember = await host.AddUserAsync(b);
        var foreignUsers = new[] { Id(b.Admin), Id(bMember) };
        var foreignKeys = new[] { (await CreateKeyAsync(host, b.Admin.AccessToken, "tenant_admin")).Id, (await CreateKeyAsync(host, b.Admin.AccessToken, "member")).Id };
        var aAdminKey = (await CreateKeyAsync(host, a.Admin.AccessToken, "tenant_admin")).Secret;
        var aMemberKey = (await CreateKeyAsync(host, a.Admin.AccessToken, "member")).Secret;
        var super = await host.SharedSuperAdminTokenAsync();
        var foreignSessions = new[] { (await OpenSupportSessionAsync(host, super, b.Id, Id(bMember)))["session"]!["id"]!.GetValue<string>() };
        var aSupport = (await OpenSupportSessionAsync(host, super, a.Id, Id(a.Admin)))["accessToken"]!.GetValue<string>();
        var (foreignWebhook, foreignDelivery) = await CreateWebhookWithDeliveryAsync(host, b.Admin.AccessToken);
        var (ownWebhook, _) = await CreateWebhookWithDeliveryAsync(host, a.Admin.AccessToken);
        var before = await SnapshotAsync(host, b.Id);
        var routes = Routes(host).Select(r => (Route: r, Kind: Classify(r)!.Value)).Where(r => r.Kind != Kind.Ui).ToList();
        // People and API keys of both roles: a key is a caller of its tenant like a user.
        var roles = new[]
        {
            ("tenant_admin", a.Admin.AccessToken), ("member", aMember.AccessToken), ("tenant_admin key", aAdminKey), ("member key", aMemberKey),
            ("support session as A's admin", aSupport),
        };
        var attempts = 0;
        var leaks = new ConcurrentBag<string>();

        var probes = new List<(string Method, string Path, string Token, string Expect)>();
        foreach (var (route, kind) in routes)
        {
            foreach (var (role, token) in roles)
            {
                switch (kind)
                {
                    case Kind.CustomerItem:
                        probes.AddRange(foreignCustomers.Select(id => (route.Method, Fill(route.Pattern, id), token, Fill(route.Pattern, Guid.NewGuid().ToString()))));
                        break;
                    case Kind.ContactItem:
                        probes.AddRange(foreignContacts.Select(id => (route.Method, Fill(route.Pattern, id), token, Fill(route.Pattern, Guid.NewGuid().ToString()))));
                        break;
                    case Kind.DealItem:
                        probes.AddRange(foreignDeals.Select(id => (route.Method, Fill(route.Pattern, id), token, Fill(route.Pattern, Guid.NewGuid().ToString()))));
                        break;
                    case Kind.ActivityItem:
                        probes.AddRange(foreignActivities.Select(id => (route.Method, Fill(route.Pattern, id), token, Fill(route.Pattern, Guid.NewGuid().ToString()))));
                        break;
                    case Kind.ImportItem:
                        probes.AddRange(foreignImports.Select(id => (route.Method, Fill(route.Pattern, id), token, Fill(route.Pattern, Guid.NewGuid().ToString()))));
                        break;
                    case Kind.UserItem:
                        probes.AddRange(foreignUsers.Select(id => (route.Method, Fill(route.Pattern, id), token, Fill(route.Pattern, Guid.NewGuid().ToString()))));
                        break;
                    case Kind.ApiKeyItem:
                        probes.AddRange(foreignKeys.Select(id => (route.Method, Fill(route.Pattern, id), token, Fill(route.Pattern, Guid.NewGuid().ToString()))));
                        break;
                    case Kind.SupportSessionItem:
                        probes.AddRange(foreignSessions.Select(id => (route.Method, Fill(route.Pattern, id), token, Fill(route.Pattern, Guid.NewGuid().ToString()))));
                        break;
                    case Kind.WebhookItem:
                        probes.Add((route.Method, Fill(route.Pattern, foreignWebhook), token, Fill(route.Pattern, Guid.NewGuid().ToString())));
                        break;
                    case Kind.WebhookDeliveryItem:
                        probes.Add((route.Method, Fill(route.Pattern, foreignWebhook, foreignDelivery), token, Fill(route.Pattern, Guid.NewGuid().ToString(), Guid.NewGuid().ToString())));
                        probes.Add((route.Method, Fill(route.Pattern, ownWebhook, foreignDelivery), token, Fill(route.Pattern, ownWebhook, Guid.NewGuid().ToString())));
                        break;
                    case Kind.SuperAdminOnly:
                        probes.Add((route.Method, Fill(route.Pattern, b.Id.ToString()), token, "403"));
                        break;
                    case Kind.TenantQuery:
                        probes.Add((route.Method, $"{route.Pattern}?tenantId={b.Id}", token, "403"));
                        break;
                }
            }
        }

        while (attempts < RequiredCrossTenantAttempts)
        {
            await Parallel.ForEachAsync(probes, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (probe, cancellation) =>
            {
                var method = new HttpMethod(probe.Method);
                // A body every record route accepts (a customer's name, a contact's last name, a deal's fields and stage, an
                // activity's type and subject, all of the attacker's own tenant), naming the attacker's tenant: only the id in
                // the path is foreign.
                object? body = method == HttpMethod.Put || method == HttpMethod.Post
                    ? new
                    {
                        name = "hijack", lastName = "hijack", tenantId = a.Id, customerId = ownCustomers[0], amount = 1, currency = "EUR", stageId = ownStages[4],
                        type = "task", subject = "hijack", url = "https://93.184.215.14/hijack", events = new[] { "customer.created" },
                    }
                    : null;
                using var foreign = await host.SendAsync(method, probe.Path, probe.Token, body);
                var foreignText = Strip(await foreign.Content.ReadAsStringAsync(cancellation));
                if (probe.Expect == "403")
                {
                    if (foreign.StatusCode != HttpStatusCode.Forbidden || ProblemType(foreignText) != ProblemTypes.Forbidden)
                    {
                        leaks.Add($"{probe.Method} {probe.Path}: {(int)foreign.StatusCode} {foreignText}");
                    }
                }
                else
                {
                    // Not merely "the same answer as a missing id" (the same 500 or 429 would hide nothing but prove nothing):
                    // both must be the refusal itself, 404 not-found (403 forbidden where the role may not use the route at all).
                    using var missing = await host.SendAsync(method, probe.Expect, probe.Token, body);
                    var missingText = Strip(await missing.Content.ReadAsStringAsync(cancellation));
                    var refusal = (foreign.StatusCode, ProblemType(foreignText)) is (HttpStatusCode.NotFound, ProblemTypes.NotFound)
                        or (HttpStatusCode.Forbidden, ProblemTypes.Forbidden);
                    if (!refusal || foreign.StatusCode != missing.StatusCode || foreignText != missingText)
                    {
                        leaks.Add($"{probe.Method} {probe.Path}: {(int)foreign.StatusCode} {foreignText} vs missing {(int)missing.StatusCode} {missingText}");
                    }
                }

                Interlocked.Increment(ref attempts);
            });
        }

        foreach (var (role, token) in roles)
        {
            using var customers = await host.SendAsync(HttpMethod.Get, "/api/customers?pageSize=200", token);
            var ids = (await customers.JsonAsync())["items"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).ToList();
            ids.Should().NotIntersectWith(foreignCustomers, role);
            ids.Should().Contain(ownCustomers, role);
        }

        foreach (var (role, token) in roles)
        {
            using var contacts = await host.SendAsync(HttpMethod.Get, "/api/contacts?pageSize=200", token);
            var ids = (await contacts.JsonAsync())["items"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).ToList();
            ids.Should().NotIntersectWith(foreignContacts, role).And.Contain(ownContact, role);
            using var byForeignCustomer = await host.SendAsync(HttpMethod.Get, $"/api/contacts?customerId={foreignCustomers[0]}", token);
            (await byForeignCustomer.JsonAsync())["items"]!.AsArray().Should().BeEmpty(role);
        }

        foreach (var (role, token) in roles)
        {
            using var deals = await host.SendAsync(HttpMethod.Get, "/api/deals?pageSize=200", token);
            var ids = (await deals.JsonAsync())["items"]!.AsArray().Select(d => d!["id"]!.GetValue<string>()).ToList();
            ids.Should().NotIntersectWith(foreignDeals, role).And.Contain(ownDeal, role);
            using var byForeignCustomer = await host.SendAsync(HttpMethod.Get, $"/api/deals?customerId={foreignCustomers[0]}", token);
            (await byForeignCustomer.JsonAsync())["items"]!.AsArray().Should().BeEmpty(role);
            using var byForeignStage = await host.SendAsync(HttpMethod.Get, $"/api/deals?stageId={foreignStages[0]}", token);
            (await byForeignStage.JsonAsync())["items"]!.AsArray().Should().BeEmpty(role);
            (await StageIdsAsync(host, token)).Should().Equal(ownStages, role).And.NotIntersectWith(foreignStages, role);
        }

        foreach (var (role, token) in roles)
        {
            using var activities = await host.SendAsync(HttpMethod.Get, "/api/activities?pageSize=200", token);
            var ids = (await activities.JsonAsync())["items"]!.AsArray().Select(x => x!["id"]!.GetValue<string>()).ToList();
            ids.Should().NotIntersectWith(foreignActivities, role).And.Contain(ownActivity, role);
            foreach (var filter in new[] { $"customerId={foreignCustomers[0]}", $"contactId={foreignContacts[0]}", $"dealId={foreignDeals[0]}", $"assignee={Id(b.Admin)}" })
            {
                using var byForeign = await host.SendAsync(HttpMethod.Get, $"/api/activities?{filter}", token);
                (await byForeign.JsonAsync())["items"]!.AsArray().Should().BeEmpty($"{role} filtering by {filter}");
            }
        }

        using (var users = await host.SendAsync(HttpMethod.Get, "/api/users", a.Admin.AccessToken))
        {
            (await users.JsonAsync())["items"]!.AsArray().Select(u => u!["id"]!.GetValue<string>()).Should().NotIntersectWith(foreignUsers);
        }

        leaks.Should().BeEmpty();
        attempts.Should().BeGreaterThanOrEqualTo(RequiredCrossTenantAttempts);
        // Users' last_seen_at is left out: metering writes it behind for B's own requests, not the attacker's.
        (await SnapshotAsync(host, b.Id)).Should().Be(before, "no cross-tenant attempt may change tenant B's rows");
    }

    [Fact]
    public async Task ATenantIdInACreateBodyNeverPlacesTheRowInAnotherTenant()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();

        using var customer = await host.SendAsync(HttpMethod.Post, "/api/customers", a.Admin.AccessToken, new { name = "c", tenantId = b.Id });
        using var user = await host.SendAsync(HttpMethod.Post, "/api/users", a.Admin.AccessToken,
            new { email = $"u-{Guid.NewGuid():N}@a.test", name = "u", password = "password-123", role = "member", tenantId = b.Id });

        (await TenantOfAsync(host, "customers", (await customer.JsonAsync())["id"]!.GetValue<string>())).Should().Be(a.Id);
        (await TenantOfAsync(host, "users", (await user.JsonAsync())["id"]!.GetValue<string>())).Should().Be(a.Id);
        var contact = await CreateContactAsync(host, a.Admin.AccessToken, new { lastName = "c", tenantId = b.Id });
        (await TenantOfAsync(host, "contacts", contact)).Should().Be(a.Id);
        var deal = await CreateDealAsync(host, a.Admin.AccessToken, new { name = "d", customerId = await CreateCustomerAsync(host, a.Admin.AccessToken, "d"), amount = 1, currency = "EUR", tenantId = b.Id });
        (await TenantOfAsync(host, "deals", deal)).Should().Be(a.Id);
        var activity = await CreateActivityAsync(host, a.Admin.AccessToken, new { type = "note", subject = "n", dealId = deal, tenantId = b.Id });
        (await TenantOfAsync(host, "activities", activity)).Should().Be(a.Id);
    }

    private static IEnumerable<(string Method, string Pattern)> Routes(ApiHost host) =>
        host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(m => (m, "/" + e.RoutePattern.RawText!.Trim('/'))))
            .Distinct();

    private static Kind? Classify((string Method, string Pattern) route) =>
        Matrix.TryGetValue($"{route.Method} {route.Pattern}", out var kind) ? kind
        : route.Pattern.StartsWith("/api/admin/", StringComparison.Ordinal) ? Kind.SuperAdminOnly
        : !route.Pattern.StartsWith("/api/", StringComparison.Ordinal) && route.Pattern != "/metrics" ? Kind.Ui
        : null;

    /// <summary>What the web UI may serve without a signed-in user: the sign-in page, the framework's redirect helper, files.</summary>
    private static readonly HashSet<string> AnonymousUi = new(StringComparer.Ordinal) { "/login", "/_framework/opaque-redirect" };

    /// <summary>Pages of one role only (the rest of the UI is for any signed-in user, the grains deciding what each may do).</summary>
    private static readonly Dictionary<string, string> UiRoles = new(StringComparer.Ordinal)
    {
        ["/admin/"] = Grains.Interfaces.Common.Roles.SuperAdmin,
        ["/users"] = Grains.Interfaces.Common.Roles.TenantAdmin,
        ["/settings"] = Grains.Interfaces.Common.Roles.TenantAdmin,
        ["/audit"] = Grains.Interfaces.Common.Roles.TenantAdmin,
        ["/import"] = Grains.Interfaces.Common.Roles.TenantAdmin,
        ["/pipeline/settings"] = Grains.Interfaces.Common.Roles.TenantAdmin,
    };

    [Fact]
    public async Task EveryUiRouteNeedsTheCookieAndItsRole()
    {
        var host = await ApiHost.SharedAsync();
        var endpoints = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => Classify(("GET", "/" + e.RoutePattern.RawText!.Trim('/'))) == Kind.Ui)
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.StaticAssets.StaticAssetDescriptor>() is null)
            .ToList();

        endpoints.Should().Contain(e => e.RoutePattern.RawText == "/customers", "the UI's pages are in the route table");
        endpoints.Should().NotContain(e => e.RoutePattern.RawText!.Contains("**", StringComparison.Ordinal),
            "no catch-all: a wrong method on an API path must stay 405");
        endpoints.Should().AllSatisfy(e =>
        {
            var path = "/" + e.RoutePattern.RawText!.Trim('/');
            var rules = e.Metadata.GetOrderedMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>();
            if (AnonymousUi.Contains(path))
            {
                return;
            }

            rules.Should().NotBeEmpty("{0} must require a signed-in user", path);
            if (UiRoles.FirstOrDefault(r => path.StartsWith(r.Key, StringComparison.Ordinal)) is { Key: not null } only)
            {
                rules.Select(r => r.Roles).Should().Contain(only.Value, "{0} is for {1} only", path, only.Value);
            }
        });
    }

    private static string Fill(string pattern, string id) =>
        System.Text.RegularExpressions.Regex.Replace(pattern, @"\{[^}]+\}", id);

    private static string Fill(string pattern, string id, string deliveryId) =>
        pattern.Replace("{id:guid}", id, StringComparison.Ordinal).Replace("{deliveryId:guid}", deliveryId, StringComparison.Ordinal);

    /// <summary>
    /// A webhook with one delivery (of a customer's creation), then paused: the delivery stays pending in the log, and
    /// no node sends it (the shared host does not deliver; a delivering test host holds a paused webhook's deliveries).
    /// </summary>
    private static async Task<(string Webhook, string Delivery)> CreateWebhookWithDeliveryAsync(ApiHost host, string token)
    {
        using var created = await host.SendAsync(HttpMethod.Post, "/api/webhooks", token, new { url = "https://93.184.215.14/hook", events = new[] { "customer.created" } });
        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var webhook = (await created.JsonAsync())["id"]!.GetValue<string>();
        await CreateCustomerAsync(host, token, "hooked");
        using var paused = await host.SendAsync(HttpMethod.Put, $"/api/webhooks/{webhook}", token,
            new { url = "https://93.184.215.14/hook", events = new[] { "customer.created" }, active = false });
        paused.EnsureSuccessStatusCode();
        using var deliveries = await host.SendAsync(HttpMethod.Get, $"/api/webhooks/{webhook}/deliveries", token);
        return (webhook, (await deliveries.JsonAsync())["items"]![0]!["id"]!.GetValue<string>());
    }

    private static string Id(Session session) => session.Body["user"]!["id"]!.GetValue<string>();

    private static async Task<string> CreateCustomerAsync(ApiHost host, string token, string name)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/customers", token, new { name });
        response.EnsureSuccessStatusCode();
        return (await response.JsonAsync())["id"]!.GetValue<string>();
    }

    private static async Task<string> CreateContactAsync(ApiHost host, string token, object body)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/contacts", token, body);
        response.EnsureSuccessStatusCode();
        return (await response.JsonAsync())["id"]!.GetValue<string>();
    }

    private static async Task<string> CreateDealAsync(ApiHost host, string token, object body)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/deals", token, body);
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["id"]!.GetValue<string>();
    }

    private static async Task<string> CreateActivityAsync(ApiHost host, string token, object body)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/activities", token, body);
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["id"]!.GetValue<string>();
    }

    private static async Task<List<string>> StageIdsAsync(ApiHost host, string token)
    {
        using var response = await host.SendAsync(HttpMethod.Get, "/api/pipeline", token);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["stages"]!.AsArray().Select(s => s!["id"]!.GetValue<string>()).ToList();
    }

    private static async Task<(string Id, string Secret)> CreateKeyAsync(ApiHost host, string token, string role)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/api-keys", token, new { name = $"{role} key", role });
        response.EnsureSuccessStatusCode();
        var body = await response.JsonAsync();
        return (body["id"]!.GetValue<string>(), body["secret"]!.GetValue<string>());
    }

    private static async Task<JsonObject> OpenSupportSessionAsync(ApiHost host, string super, Guid tenant, string userId)
    {
        using var response = await host.SendAsync(HttpMethod.Post, $"/api/admin/tenants/{tenant}/support-sessions", super,
            new { userId, reason = "isolation matrix", minutes = 60 });
        response.EnsureSuccessStatusCode();
        return await response.JsonAsync();
    }

    private static async Task<string> SnapshotAsync(ApiHost host, Guid tenant)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT coalesce((SELECT md5(string_agg(c::text, '|' ORDER BY c.id)) FROM customers c WHERE c.tenant_id = $1), '') || ':' ||
                   coalesce((SELECT md5(string_agg(c::text, '|' ORDER BY c.id)) FROM contacts c WHERE c.tenant_id = $1), '') || ':' ||
                   coalesce((SELECT md5(string_agg((u.id, u.email, u.name, u.role, u.password_hash, u.disabled, u.updated_at)::text, '|' ORDER BY u.id)) FROM users u WHERE u.tenant_id = $1), '') || ':' ||
                   coalesce((SELECT md5(string_agg((k.id, k.name, k.role, k.secret_hash, k.expires_at, k.revoked_at)::text, '|' ORDER BY k.id)) FROM api_keys k WHERE k.tenant_id = $1), '') || ':' ||
                   coalesce((SELECT md5(string_agg(s::text, '|' ORDER BY s.id)) FROM support_sessions s WHERE s.tenant_id = $1), '') || ':' ||
                   coalesce((SELECT md5(string_agg(t::text, '|')) FROM tenant_settings t WHERE t.tenant_id = $1), '') || ':' ||
                   coalesce((SELECT md5(string_agg(d::text, '|' ORDER BY d.id)) FROM deals d WHERE d.tenant_id = $1), '') || ':' ||
                   coalesce((SELECT md5(string_agg(l::text, '|' ORDER BY l.deal_id, l.contact_id)) FROM deal_contacts l WHERE l.tenant_id = $1), '') || ':' ||
                   coalesce((SELECT md5(string_agg(p::text, '|' ORDER BY p.id)) FROM pipeline_stages p WHERE p.tenant_id = $1), '') || ':' ||
                   coalesce((SELECT md5(string_agg(x::text, '|' ORDER BY x.id)) FROM activities x WHERE x.tenant_id = $1), '') || ':' ||
                   coalesce((SELECT md5(string_agg(f::text, '|' ORDER BY f.record_type, f.key)) FROM custom_field_definitions f WHERE f.tenant_id = $1), '') || ':' ||
                   coalesce((SELECT md5(string_agg(w::text, '|' ORDER BY w.id)) FROM webhooks w WHERE w.tenant_id = $1), '') || ':' ||
                   coalesce((SELECT md5(string_agg(d::text, '|' ORDER BY d.id)) FROM webhook_deliveries d WHERE d.tenant_id = $1), '')
            """,
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<Guid> TenantOfAsync(ApiHost host, string table, string id)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT tenant_id FROM {table} WHERE id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Guid.Parse(id) });
        return (Guid)(await command.ExecuteScalarAsync())!;
    }

    private static class ProblemTypes
    {
        public const string NotFound = "https://shohayota.dev/problems/not-found";
        public const string Forbidden = "https://shohayota.dev/problems/forbidden";
    }

    private static string? ProblemType(string body) =>
        string.IsNullOrEmpty(body) || JsonNode.Parse(body) is not JsonObject node ? null : node["type"]?.GetValue<string>();

    private static string Strip(string body)
    {
        if (string.IsNullOrEmpty(body) || JsonNode.Parse(body) is not JsonObject node)
        {
            return body;
        }

        node.Remove("traceId");
        node.Remove("requestId");
        return node.ToJsonString();
    }
}
