using System.Net;
using System.Net.Http.Json;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Auth;

public sealed class SuperAdminBootstrapTests
{
    [Fact]
    public async Task TheConfiguredSuperAdminIsCreatedOnAFreshDatabase()
    {
        await using var database = await TestDatabase.StartAsync();
        await using var host = await ApiHost.StartAsync(database, settings:
        [
            "--Shohayota:Bootstrap:SuperAdminEmail=root@bootstrap.test",
            "--Shohayota:Bootstrap:SuperAdminPassword=bootstrap-password",
        ]);

        using var login = await host.Client.PostAsJsonAsync("/api/auth/login", new { email = "root@bootstrap.test", password = "bootstrap-password" });

        login.StatusCode.Should().Be(HttpStatusCode.OK);
        (await login.JsonAsync())["user"]!["role"]!.GetValue<string>().Should().Be("super_admin");
        File.Exists(Path.Combine(database.Directory, "superadmin.txt")).Should().BeFalse();
    }

    [Fact]
    public async Task WithoutConfigurationAGeneratedPasswordIsKeptOwnerOnlyAndWorks()
    {
        await using var database = await TestDatabase.StartAsync();
        await using var host = await ApiHost.StartAsync(database, settings: ["--Shohayota:Auth:SigningKey="]);
        var file = Path.Combine(database.Directory, "superadmin.txt");

        var lines = (await File.ReadAllLinesAsync(file)).ToDictionary(l => l[..l.IndexOf('=', StringComparison.Ordinal)], l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..]);
        using var login = await host.Client.PostAsJsonAsync("/api/auth/login", new { email = lines["email"], password = lines["password"] });

        File.GetUnixFileMode(file).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        lines["password"].Length.Should().BeGreaterThanOrEqualTo(20);
        login.StatusCode.Should().Be(HttpStatusCode.OK);
        File.GetUnixFileMode(Path.Combine(database.Directory, "jwt-signing.key")).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
