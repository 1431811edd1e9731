using System.Net;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Web;

/// <summary>The UI's key ring lives in the database: a cookie one node issued is honoured by every other node.</summary>
public sealed class UiKeyRingTests
{
    [Fact]
    public async Task ASessionCookieFromOneNodeSignsTheBrowserInOnAnotherNodeOfTheSameDatabase()
    {
        var first = await ApiHost.SharedAsync();
        // Its own data directory: nothing on disk is shared with the first node, only the database.
        var directory = Directory.CreateDirectory(Path.Combine(first.Database.Directory, $"second-node-{Guid.NewGuid():N}")).FullName;
        await using var second = await ApiHost.StartAsync(first.Database, settings: [$"--Shohayota:DataDirectory={directory}"]);
        var tenant = await first.ProvisionTenantAsync();
        using var browser = new BrowserSession(first.Client.BaseAddress!);
        using (var signedIn = await browser.SignInAsync(tenant.AdminEmail, tenant.AdminPassword))
        {
            signedIn.StatusCode.Should().Be(HttpStatusCode.Found);
        }

        var cookie = browser.Cookies.GetCookies(first.Client.BaseAddress!)["shohayota.session"];
        cookie.Should().NotBeNull("the sign-in sets the session cookie");
        using var elsewhere = new BrowserSession(second.Client.BaseAddress!);
        elsewhere.Cookies.Add(second.Client.BaseAddress!, new Cookie(cookie!.Name, cookie.Value));

        using var home = await elsewhere.Client.GetAsync("/");
        home.StatusCode.Should().Be(HttpStatusCode.Redirect);
        new Uri(second.Client.BaseAddress!, home.Headers.Location!).AbsolutePath.Should().Be("/customers", "the other node read the cookie and knows the user's role");

        using var stranger = new BrowserSession(second.Client.BaseAddress!);
        using var anonymous = await stranger.Client.GetAsync("/");
        anonymous.Headers.Location!.OriginalString.Should().Contain("/login", "without the cookie the same page asks for sign-in");
    }

    [Fact]
    public async Task TheRuntimeRoleMayReadAndAddKeysButNotChangeOrRemoveThem()
    {
        var host = await ApiHost.SharedAsync();
        await using var connection = new NpgsqlConnection(host.Database.AppConnectionString);
        await connection.OpenAsync();
        foreach (var statement in new[] { "UPDATE ui_data_protection_keys SET xml = xml", "DELETE FROM ui_data_protection_keys" })
        {
            await using var command = new NpgsqlCommand(statement, connection);
            var refused = async () => await command.ExecuteNonQueryAsync();
            (await refused.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.InsufficientPrivilege);
        }
    }
}
