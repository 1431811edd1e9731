using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Errors;

public sealed class ErrorResponseTests
{
    [Theory]
    [InlineData("/api/auth/login", "{\"email\": \"a@b.test\", ")]
    [InlineData("/api/auth/login", "{\"email\": 42, \"password\": \"x\"}")]
    [InlineData("/api/auth/login", "not json")]
    [InlineData("/api/admin/tenants/provision", "{\"name\": [}")]
    [InlineData("/api/admin/tenants/00000000-0000-0000-0000-000000000001/delete", "{\"hardDelete\": tru")]
    public async Task MalformedJsonIs400MalformedRequest(string path, string json)
    {
        var host = await ApiHost.SharedAsync();
        using var request = ApiHost.Authorized(HttpMethod.Post, path, await host.SharedSuperAdminTokenAsync());
        request.Content = new StringContent(json, Encoding.UTF8, "application/json");

        using var response = await host.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("malformed-request"));
    }

    [Fact]
    public async Task AJsonBodyOver1MBIs413()
    {
        var host = await ApiHost.SharedAsync();
        using var body = JsonContent.Create(new { email = "someone@example.test", password = new string('x', 1024 * 1024) });

        using var response = await host.Client.PostAsync("/api/auth/login", body);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        response.Headers.ConnectionClose.Should().BeTrue("the body was not read, so the connection serves no other request");
        (await response.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("payload-too-large"));
    }

    /// <summary>One request per kind of client mistake (anonymous or as the super-admin), its status and problem type.</summary>
    public static TheoryData<string, HttpStatusCode, string> Mistakes => new()
    {
        { "no token", HttpStatusCode.Unauthorized, "unauthorized" },
        { "garbage token", HttpStatusCode.Unauthorized, "unauthorized" },
        { "wrong role", HttpStatusCode.Forbidden, "forbidden" },
        { "unknown tenant", HttpStatusCode.NotFound, "not-found" },
        { "unknown route", HttpStatusCode.NotFound, "not-found" },
        { "not a guid", HttpStatusCode.NotFound, "not-found" },
        { "wrong method", HttpStatusCode.MethodNotAllowed, "method-not-allowed" },
        { "invalid fields", HttpStatusCode.BadRequest, "validation" },
        { "malformed json", HttpStatusCode.BadRequest, "malformed-request" },
        { "wrong json type", HttpStatusCode.BadRequest, "malformed-request" },
        { "no body", HttpStatusCode.BadRequest, "bad-request" },
        { "bad query", HttpStatusCode.BadRequest, "bad-request" },
        { "not json", HttpStatusCode.UnsupportedMediaType, "unsupported-media-type" },
        { "not json on an optional body", HttpStatusCode.UnsupportedMediaType, "unsupported-media-type" },
        { "too large", HttpStatusCode.RequestEntityTooLarge, "payload-too-large" },
        { "wrong password", HttpStatusCode.Unauthorized, "invalid-credentials" },
        { "bad refresh token", HttpStatusCode.Unauthorized, "invalid-token" },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public async Task EveryErrorIsAProblemDocumentWithoutInternals(string mistake, HttpStatusCode expected, string kind)
    {
        var host = await ApiHost.SharedAsync();
        var admin = await host.SharedSuperAdminTokenAsync();
        using var request = mistake switch
        {
            "no token" => ApiHost.Authorized(HttpMethod.Get, "/api/users", null),
            "garbage token" => ApiHost.Authorized(HttpMethod.Get, "/api/users", "not.a.token"),
            "wrong role" => ApiHost.Authorized(HttpMethod.Get, "/api/users", admin),
            "unknown tenant" => ApiHost.Authorized(HttpMethod.Get, $"/api/admin/tenants/{Guid.NewGuid()}", admin),
            "unknown route" => ApiHost.Authorized(HttpMethod.Get, "/api/no-such-thing", admin),
            "not a guid" => ApiHost.Authorized(HttpMethod.Post, "/api/admin/tenants/not-a-guid/suspend", admin),
            "wrong method" => ApiHost.Authorized(HttpMethod.Get, "/api/auth/login", null),
            "invalid fields" => Json(ApiHost.Authorized(HttpMethod.Post, "/api/admin/tenants/provision", admin), "{}"),
            "malformed json" => Json(ApiHost.Authorized(HttpMethod.Post, "/api/auth/login", null), "{\"email\":"),
            "wrong json type" => Json(ApiHost.Authorized(HttpMethod.Post, "/api/auth/login", null), "[1, 2]"),
            "no body" => ApiHost.Authorized(HttpMethod.Post, "/api/auth/login", null),
            "bad query" => ApiHost.Authorized(HttpMethod.Get, "/api/admin/tenants?pageSize=many", admin),
            "not json" => Text(ApiHost.Authorized(HttpMethod.Post, "/api/auth/login", null)),
            "not json on an optional body" => Text(ApiHost.Authorized(HttpMethod.Post, $"/api/admin/tenants/{Guid.NewGuid()}/suspend", admin)),
            // Expect: 100-continue, as curl sends it for large bodies: the server's 413 comes before the body, so the
            // client never writes into a connection the server already closed (a broken pipe instead of the answer).
            "too large" => ExpectContinue(Json(ApiHost.Authorized(HttpMethod.Post, "/api/auth/refresh", null), $"{{\"refreshToken\":\"{new string('x', 1_100_000)}\"}}")),
            "wrong password" => Json(ApiHost.Authorized(HttpMethod.Post, "/api/auth/login", null), "{\"email\":\"nobody@nowhere.test\",\"password\":\"wrong-password\"}"),
            "bad refresh token" => Json(ApiHost.Authorized(HttpMethod.Post, "/api/auth/refresh", null), "{\"refreshToken\":\"a.b.c.d\"}"),
            _ => throw new ArgumentOutOfRangeException(nameof(mistake)),
        };

        using var response = await host.Client.SendAsync(request);

        response.StatusCode.Should().Be(expected);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var text = await response.Content.ReadAsStringAsync();
        text.Should().NotContainAny("   at ", "Npgsql", "Exception", "SELECT ", "password_hash");
        var problem = await response.ProblemAsync();
        problem["status"]!.GetValue<int>().Should().Be((int)expected);
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType(kind));
        problem["title"]!.GetValue<string>().Should().NotBeNullOrWhiteSpace();
    }

    private static HttpRequestMessage ExpectContinue(HttpRequestMessage request)
    {
        request.Headers.ExpectContinue = true;
        return request;
    }

    private static HttpRequestMessage Json(HttpRequestMessage request, string json)
    {
        request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        return request;
    }

    private static HttpRequestMessage Text(HttpRequestMessage request)
    {
        request.Content = new StringContent("hello", Encoding.UTF8);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        return request;
    }
}
