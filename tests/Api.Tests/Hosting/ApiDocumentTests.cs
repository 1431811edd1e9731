using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Hosting;

/// <summary>
/// The OpenAPI document (<c>/openapi/v1.json</c>) against the app itself: it names every API route of the route table,
/// lints clean with Spectral, and the bodies the routes really answer (successes and problems) match its schemas.
/// </summary>
public sealed partial class ApiDocumentTests
{
    /// <summary>API routes deliberately not in the document: the bench's memory probe and admission switch, and the reference UI's own files.</summary>
    private static readonly HashSet<string> Undocumented = new(StringComparer.Ordinal) { "POST /api/admin/benchmark/memory", "PUT /api/admin/benchmark/admission" };

    /// <summary>The one warning the lint may give: the document names no server, on purpose (clients use the address they fetched it from).</summary>
    private const string DeliberateWarning = "oas3-api-servers";

    [Fact]
    public async Task TheDocumentNamesEveryApiRouteOfTheRouteTableWithItsSecurity()
    {
        var host = await ApiHost.SharedAsync();
        var document = await DocumentAsync(host);
        var paths = document["paths"]!.AsObject();

        var routes = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/api/", StringComparison.Ordinal))
            .Where(e => !e.RoutePattern.RawText!.StartsWith(Api.Hosting.ApiDocument.ReferencePath, StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => (Method: m, Endpoint: e)))
            .ToList();
        routes.Should().HaveCountGreaterThan(60, "the route table holds the whole API");

        foreach (var (method, endpoint) in routes)
        {
            var path = DocumentPath(endpoint.RoutePattern.RawText!);
            if (Undocumented.Contains($"{method} {path}"))
            {
                paths.ContainsKey(path).Should().BeFalse("{0} {1} is kept out of the document", method, path);
                continue;
            }

            var operation = paths[path]?[method.ToLowerInvariant()];
            operation.Should().NotBeNull("{0} {1} is a route, so the document must describe it", method, path);
            var anonymous = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is not null;
            if (anonymous)
            {
                operation!["security"].Should().BeNull("{0} {1} is anonymous", method, path);
            }
            else
            {
                operation!["security"]!.ToJsonString().Should().Contain("bearer").And.Contain("apiKey", "{0} {1} needs a token or a key", method, path);
                operation["responses"]!["401"].Should().NotBeNull("{0} {1} refuses a caller without a token", method, path);
            }

            // Every success but 204 names its body's schema: no route answers an undocumented shape.
            foreach (var success in operation["responses"]!.AsObject().Where(r => r.Key.StartsWith('2') && r.Key != "204"))
            {
                success.Value!["content"].Should().NotBeNull("{0} {1} answers {2} with a body the document must describe", method, path, success.Key);
            }

            if (operation["requestBody"] is not null)
            {
                operation["responses"]!["415"].Should().NotBeNull("{0} {1} reads a body, so a body of another type is refused", method, path);
            }

            if (path.Contains('{', StringComparison.Ordinal))
            {
                operation["responses"]!["404"].Should().NotBeNull("{0} {1} names a record that may be missing (or another tenant's)", method, path);
            }
        }

        // Every problem response points at the one problem schema, whose type lists every type the API answers.
        var types = document["components"]!["schemas"]!["Problem"]!["properties"]!["type"]!["enum"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
        types.Should().Contain([HttpExtensions.ProblemType("not-found"), HttpExtensions.ProblemType("validation"), HttpExtensions.ProblemType("rate-limited"), HttpExtensions.ProblemType("tenant-suspended")]);
        document["components"]!["securitySchemes"]!["bearer"]!["scheme"]!.GetValue<string>().Should().Be("bearer");
        document["components"]!["securitySchemes"]!["apiKey"]!["name"]!.GetValue<string>().Should().Be("X-Api-Key");
    }

    [Fact]
    public async Task TheDocumentLintsWithSpectralsOpenApiRulesetWithoutErrorsOrWarningsButTheDeliberateMissingServer()
    {
        var host = await ApiHost.SharedAsync();
        var file = Path.Combine(Path.GetTempPath(), $"shohayota-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, (await DocumentAsync(host)).ToJsonString());
        try
        {
            var (exitCode, output) = await RunAsync(Path.Combine(Repository.Root, "scripts", "lint-openapi.sh"), file, "--format", "json", "--quiet");

            // Spectral's severities: 0 error, 1 warning (2 information and 3 hint are not held against the document).
            var results = JsonNode.Parse(output)!.AsArray()
                .Select(r => (Severity: r!["severity"]!.GetValue<int>(), Code: r["code"]!.ToString(), Path: r["path"]!.AsArray().Select(p => p!.ToString()).ToList(),
                    Message: r["message"]!.ToString()))
                .ToList();
            var errors = results.Where(r => r.Severity == 0).Select(r => $"{r.Code}: {r.Message} at {string.Join('/', r.Path)}").ToList();
            errors.Should().BeEmpty("the document must lint clean (spectral:oas)");
            exitCode.Should().Be(0, output);

            var warnings = results.Where(r => r.Severity == 1).ToList();
            var unexpected = warnings
                .Where(w => w.Code != DeliberateWarning)
                .Select(w => $"{w.Code}: {w.Message} at {string.Join('/', w.Path)}")
                .ToList();
            unexpected.Should().BeEmpty("every operation has a description and the only warning is the deliberate {0}; found {1}:{2}",
                DeliberateWarning,
                string.Join(", ", warnings.GroupBy(w => w.Code).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} × {g.Count()}")),
                string.Concat(unexpected.Select(u => Environment.NewLine + u)));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task RealResponsesOfTheMainRoutesMatchTheDocumentsSchemas()
    {
        var host = await ApiHost.SharedAsync();
        var document = await DocumentAsync(host);
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var checkedCount = 0;

        async Task<JsonNode?> Check(HttpMethod method, string path, string template, string? bearer, object? body = null, int? expected = null)
        {
            using var response = await host.SendAsync(method, path, bearer, body);
            var text = await response.Content.ReadAsStringAsync();
            if (expected is { } status)
            {
                ((int)response.StatusCode).Should().Be(status, "{0} {1}: {2}", method, path, text);
            }

            Matches(document, method, template, response, text);
            checkedCount++;
            return text.Length == 0 ? null : JsonNode.Parse(text);
        }

        // A body of a given content type, as it is sent (a CSV file, or a body of the wrong type).
        async Task Raw(string path, string template, string body, string contentType, int expected)
        {
            using var request = ApiHost.Authorized(HttpMethod.Post, path, token);
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, contentType);
            using var response = await host.Client.SendAsync(request);
            ((int)response.StatusCode).Should().Be(expected, "POST {0} as {1}", path, contentType);
            Matches(document, HttpMethod.Post, template, response, await response.Content.ReadAsStringAsync());
            checkedCount++;
        }

        using (var login = await host.PostLoginAsync(tenant.AdminEmail, tenant.AdminPassword))
        {
            Matches(document, HttpMethod.Post, "/api/auth/login", login, await login.Content.ReadAsStringAsync());
        }

        using (var refused = await host.PostLoginAsync(tenant.AdminEmail, "not the password"))
        {
            ((int)refused.StatusCode).Should().Be(401);
            Matches(document, HttpMethod.Post, "/api/auth/login", refused, await refused.Content.ReadAsStringAsync());
        }

        await Check(HttpMethod.Get, "/api/auth/me", "/api/auth/me", token, expected: 200);
        await Check(HttpMethod.Get, "/api/auth/me", "/api/auth/me", null, expected: 401);
        await Check(HttpMethod.Get, "/api/users", "/api/users", token, expected: 200);
        await Check(HttpMethod.Post, "/api/users", "/api/users", token,
            new { email = $"m-{Guid.NewGuid():N}@tenant.test", name = "Member", password = "member-password", role = "member" }, 201);

        var customer = (await Check(HttpMethod.Post, "/api/customers", "/api/customers", token,
            new { name = "Ada Lovelace", email = $"ada-{Guid.NewGuid():N}@example.test", tags = new[] { "vip" } }, 201))!["id"]!.GetValue<string>();
        await Check(HttpMethod.Get, $"/api/customers/{customer}", "/api/customers/{id}", token, expected: 200);
        await Check(HttpMethod.Put, $"/api/customers/{customer}", "/api/customers/{id}", token, new { name = "Ada King", status = "customer" }, 200);
        await Check(HttpMethod.Get, "/api/customers?pageSize=5&sort=name", "/api/customers", token, expected: 200);
        await Check(HttpMethod.Get, "/api/customers?q=ada", "/api/customers", token, expected: 200);
        await Check(HttpMethod.Get, "/api/customers?colour=red", "/api/customers", token, expected: 400);
        await Check(HttpMethod.Get, $"/api/customers/{customer}/timeline", "/api/customers/{id}/timeline", token, expected: 200);
        await Check(HttpMethod.Get, $"/api/customers/{Guid.NewGuid()}", "/api/customers/{id}", token, expected: 404);
        await Check(HttpMethod.Post, "/api/customers", "/api/customers", token, new { email = "not an address" }, 400);
        await Raw("/api/customers", "/api/customers", "name=Ada", "text/plain", 415);


        var contact = (await Check(HttpMethod.Post, "/api/contacts", "/api/contacts", token,
            new { firstName = "Charles", lastName = "Babbage", customerId = customer }, 201))!["id"]!.GetValue<string>();
        await Check(HttpMethod.Get, "/api/contacts", "/api/contacts", token, expected: 200);
        var deal = (await Check(HttpMethod.Post, "/api/deals", "/api/deals", token,
            new { name = "Engines", customerId = customer, contactIds = new[] { contact }, amount = 1200.50m, currency = "EUR" }, 201))!["id"]!.GetValue<string>();
        await Check(HttpMethod.Get, "/api/deals", "/api/deals", token, expected: 200);
        await Check(HttpMethod.Get, "/api/pipeline", "/api/pipeline", token, expected: 200);
        // A route that takes no parameters still refuses one, and its 400 is in the document.
        await Check(HttpMethod.Get, "/api/pipeline?view=board", "/api/pipeline", token, expected: 400);
        var activity = (await Check(HttpMethod.Post, "/api/activities", "/api/activities", token,
            new { type = "task", subject = "Call back", dealId = deal }, 201))!["id"]!.GetValue<string>();
        await Check(HttpMethod.Get, "/api/activities", "/api/activities", token, expected: 200);
        await Check(HttpMethod.Post, $"/api/activities/{activity}/complete", "/api/activities/{id}/complete", token, expected: 200);
        await Check(HttpMethod.Delete, $"/api/contacts/{contact}", "/api/contacts/{id}", token, expected: 409);
        await Check(HttpMethod.Get, "/api/api-keys", "/api/api-keys", token, expected: 200);
        await Check(HttpMethod.Post, "/api/api-keys", "/api/api-keys", token, new { name = "ERP sync", role = "member" }, 201);

        var super = await host.SharedSuperAdminTokenAsync();
        await Check(HttpMethod.Get, "/api/admin/tenants?pageSize=2", "/api/admin/tenants", super, expected: 200);
        await Check(HttpMethod.Get, $"/api/admin/tenants/{tenant.Id}", "/api/admin/tenants/{id}", super, expected: 200);
        await Check(HttpMethod.Get, "/api/admin/tenants", "/api/admin/tenants", token, expected: 403);

        // The tenant's own operator routes, then the super-admin's: each read as (path, the document's template).
        (string Path, string Template)[] tenantReads =
        [
            ("/api/tenants/quotas", "/api/tenants/quotas"), ("/api/tenants/usage", "/api/tenants/usage"), ("/api/tenants/alerts", "/api/tenants/alerts"),
            ("/api/audit-logs?pageSize=3", "/api/audit-logs"), ("/api/audit-logs/verify", "/api/audit-logs/verify"),
            ("/api/tenants/incidents", "/api/tenants/incidents"), ("/api/tenants/settings", "/api/tenants/settings"),
            ("/api/tenants/support-sessions", "/api/tenants/support-sessions"), ("/api/custom-fields/customers", "/api/custom-fields/{recordType}"),
        ];
        foreach (var (path, template) in tenantReads)
        {
            await Check(HttpMethod.Get, path, template, token, expected: 200);
        }

        await Check(HttpMethod.Get, "/api/custom-fields/planets", "/api/custom-fields/{recordType}", token, expected: 404);
        await Raw("/api/imports/customers?dryRun=true", "/api/imports/customers", "name,email\r\nGrace Hopper,grace@example.test\r\n", "text/csv", 200);
        await Raw("/api/imports/customers", "/api/imports/customers", "{}", "application/json", 415);

        await Check(HttpMethod.Post, $"/api/admin/tenants/{tenant.Id}/incidents", "/api/admin/tenants/{id}/incidents", super,
            new { title = "Slow pages", severity = "low" }, 201);
        (string Path, string Template)[] operatorReads =
        [
            ($"/api/tenants/quotas?tenantId={tenant.Id}", "/api/tenants/quotas"), ("/api/admin/metrics", "/api/admin/metrics"),
            ("/api/admin/alerts", "/api/admin/alerts"), ("/api/admin/cluster", "/api/admin/cluster"), ("/api/admin/backups", "/api/admin/backups"),
            ("/api/admin/deletions?pageSize=2", "/api/admin/deletions"), ($"/api/admin/tenants/{tenant.Id}/api-keys", "/api/admin/tenants/{id}/api-keys"),
        ];
        foreach (var (path, template) in operatorReads)
        {
            await Check(HttpMethod.Get, path, template, super, expected: 200);
        }

        await Check(HttpMethod.Get, $"/api/admin/tenants/{Guid.NewGuid()}/api-keys", "/api/admin/tenants/{id}/api-keys", super, expected: 404);
        await Check(HttpMethod.Put, $"/api/admin/tenants/{tenant.Id}/plan", "/api/admin/tenants/{id}/plan", super, new { plan = "enterprise" }, 200);
        await Check(HttpMethod.Get, "/api/health", "/api/health", null, expected: 200);

        checkedCount.Should().BeGreaterThan(45);
    }

    [Fact]
    public async Task TheRequestExamplesAreValidBodiesOfTheirRoutes()
    {
        var host = await ApiHost.SharedAsync();
        var document = await DocumentAsync(host);

        var examples = document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(o => (Operation: $"{o.Key.ToUpperInvariant()} {p.Key}", Body: o.Value!["requestBody"]?["content"]?["application/json"])))
            .Where(o => o.Body?["examples"] is JsonObject)
            .SelectMany(o => o.Body!["examples"]!.AsObject().Select(e => (o.Operation, Name: e.Key, Schema: o.Body["schema"]!, Value: e.Value!["value"]!)))
            .ToList();

        examples.Select(e => e.Operation).Should().Contain(["POST /api/admin/tenants/provision", "POST /api/admin/tenants/{id}/delete",
            "POST /api/admin/tenants/{id}/suspend", "POST /api/auth/login", "POST /api/customers", "POST /api/api-keys"]);
        foreach (var (operation, name, schema, value) in examples)
        {
            var results = Schema(document, schema).Evaluate(JsonDocument.Parse(value.ToJsonString()).RootElement);
            results.IsValid.Should().BeTrue("the example '{0}' of {1} must be a body its schema accepts: {2}", name, operation, value.ToJsonString());
        }

        // And one of them for real: the README's first customer, created with its example body.
        var tenant = await host.ProvisionTenantAsync();
        var customer = examples.Single(e => e.Operation == "POST /api/customers").Value;
        using var created = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, customer);
        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheReferenceUiIsServedAnonymouslyFromThisNodeAndReadsTheDocument()
    {
        var host = await ApiHost.SharedAsync();

        using var page = await host.Client.GetAsync(Api.Hosting.ApiDocument.ReferencePath + "/");
        page.StatusCode.Should().Be(HttpStatusCode.OK);
        page.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        var html = await page.Content.ReadAsStringAsync();
        html.Should().Contain("openapi/v1.json", "the page reads this node's document");
        html.Should().NotContainAny(["https://cdn", "fonts.scalar.com"], "the page loads nothing from outside this node");
        html.Should().Contain("\"telemetry\":false");

        using var bundle = await host.Client.GetAsync(Api.Hosting.ApiDocument.ReferencePath + "/scalar.js");
        bundle.StatusCode.Should().Be(HttpStatusCode.OK, "the reference UI's script is served by the node itself");
    }

    [Fact]
    public async Task TheDocumentIsAnonymousAndDescribesTheApiOnly()
    {
        var host = await ApiHost.SharedAsync();

        using var response = await host.Client.GetAsync(Api.Hosting.ApiDocument.Path);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var document = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        document["openapi"]!.GetValue<string>().Should().StartWith("3.1");
        document["paths"]!.AsObject().Select(p => p.Key).Should().OnlyContain(p => p.StartsWith("/api/", StringComparison.Ordinal),
            "the web UI's pages and /metrics are not API routes");
        document["servers"].Should().BeNull("the document names no server: clients use the address they fetched it from");
    }

    [Fact]
    public async Task TheDocumentIsMadeOnceAndServedTheSameWhateverTheRequestSays()
    {
        var host = await ApiHost.SharedAsync();

        async Task<byte[]> FetchAsync(string hostHeader)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Api.Hosting.ApiDocument.Path);
            request.Headers.Host = hostHeader;
            using var response = await host.Client.SendAsync(request);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            return await response.Content.ReadAsByteArrayAsync();
        }

        var first = await FetchAsync("localhost");
        var second = await FetchAsync("attacker.example");

        // Generated per request (about 80 ms of CPU each) an anonymous route would be a cheap way to load a node, and a
        // document naming the request's host would echo whatever Host a client sent.
        second.Should().Equal(first, "the node serves the bytes it made once");
        System.Text.Encoding.UTF8.GetString(second).Should().NotContain("attacker.example");
    }

    /// <summary>The response's status is documented for the route, and its body matches that status's schema.</summary>
    private static void Matches(JsonObject document, HttpMethod method, string template, HttpResponseMessage response, string body)
    {
        var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var documented = document["paths"]![template]?[method.Method.ToLowerInvariant()]?["responses"]?[status];
        documented.Should().NotBeNull("{0} {1} answered {2}, which the document must list: {3}", method, template, status, body);
        if (documented!["content"] is not JsonObject content)
        {
            body.Should().BeEmpty("{0} {1} {2} is documented without a body", method, template, status);
            return;
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        var schema = content[mediaType!]?["schema"];
        schema.Should().NotBeNull("{0} {1} {2} answered {3}, which the document must name", method, template, status, mediaType);

        var results = Schema(document, schema!).Evaluate(JsonDocument.Parse(body).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        results.IsValid.Should().BeTrue("{0} {1} {2} must match its schema; errors: {3}; body: {4}", method, template, status,
            string.Join("; ", (results.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))), body);
    }

    /// <summary>One schema of the document as a JSON Schema 2020-12 document, its components as <c>$defs</c>.</summary>
    private static JsonSchema Schema(JsonObject document, JsonNode schema)
    {
        var root = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$defs"] = document["components"]!["schemas"]!.DeepClone(),
            ["allOf"] = new JsonArray(schema.DeepClone()),
        };
        var text = root.ToJsonString().Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal);
        return JsonSchema.FromText(text, new BuildOptions(), new Uri($"https://schemas.shohayota.test/{Guid.NewGuid():N}"));
    }

    private static async Task<JsonObject> DocumentAsync(ApiHost host) =>
        (await host.Client.GetFromJsonAsync<JsonObject>(Api.Hosting.ApiDocument.Path))!;

    /// <summary><c>/api/customers/{id:guid}/</c> → <c>/api/customers/{id}</c>, as the document writes paths.</summary>
    private static string DocumentPath(string pattern) => "/" + Constraint().Replace(pattern, "}").Trim('/');

    [GeneratedRegex(@":[^}]+\}")]
    private static partial Regex Constraint();

    private static async Task<(int ExitCode, string Output)> RunAsync(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var text = await output;
        return (process.ExitCode, text.Length > 0 ? text : await error);
    }
}
