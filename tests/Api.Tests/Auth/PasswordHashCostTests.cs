using System.Net;
using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Auth;

/// <summary>
/// <c>Shohayota:Auth:PasswordHashIterations</c>: new and changed passwords take the node's count, every stored hash keeps
/// its own (so a node with another count still signs everyone in), and a count outside the range stops the start.
/// </summary>
public sealed class PasswordHashCostTests
{
    private const string NewPassword = "a-new-and-longer-password";

    [Fact]
    public async Task NewAndChangedPasswordsTakeTheNodesCountAndEveryStoredCountStillSignsIn()
    {
        var shared = await ApiHost.SharedAsync();
        await using var raised = await ApiHost.StartAsync(shared.Database, settings: ["--Shohayota:Auth:PasswordHashIterations=300000"]);

        // Provisioned on the node with the raised cost; a member added on the shared one (the suite's 100,000).
        var tenant = await raised.ProvisionTenantAsync();
        var memberEmail = $"member-{Guid.NewGuid():N}@tenant.test";
        using (var added = await shared.SendAsync(HttpMethod.Post, "/api/users", tenant.Admin.AccessToken,
                   new { email = memberEmail, name = "Some Member", password = "member-password", role = "member" }))
        {
            added.StatusCode.Should().Be(HttpStatusCode.Created, await added.Content.ReadAsStringAsync());
        }

        var member = await shared.LoginAsync(memberEmail, "member-password");

        (await StoredCountAsync(shared, tenant.AdminEmail)).Should().Be(300_000);
        (await StoredCountAsync(shared, memberEmail)).Should().Be(100_000);

        // Each node checks each hash by its own count.
        using (var adminOnShared = await shared.PostLoginAsync(tenant.AdminEmail, tenant.AdminPassword))
        using (var memberOnRaised = await raised.PostLoginAsync(memberEmail, "member-password"))
        {
            adminOnShared.StatusCode.Should().Be(HttpStatusCode.OK);
            memberOnRaised.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        // A changed password takes the count of the node that changed it.
        using (var changed = await raised.SendAsync(HttpMethod.Post, "/api/auth/password", member.AccessToken,
                   new { currentPassword = "member-password", newPassword = NewPassword }))
        {
            changed.StatusCode.Should().Be(HttpStatusCode.OK, await changed.Content.ReadAsStringAsync());
        }

        (await StoredCountAsync(shared, memberEmail)).Should().Be(300_000);
        // On the node that changed it: the two test hosts are separate clusters, so the shared one's user grain still holds the old hash.
        using var withNew = await raised.PostLoginAsync(memberEmail, NewPassword);
        withNew.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("99999")]
    [InlineData("1000001")]
    public async Task ACountOutsideTheRangeStopsTheStartWithAMessage(string iterations)
    {
        var shared = await ApiHost.SharedAsync();
        var start = async () => await ApiHost.StartAsync(shared.Database, settings: [$"--Shohayota:Auth:PasswordHashIterations={iterations}"]);

        (await start.Should().ThrowAsync<OptionsValidationException>()).WithMessage("*PasswordHashIterations*");
    }

    private static async Task<int> StoredCountAsync(ApiHost host, string email)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT password_hash FROM users WHERE email = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = email });
        var hash = (string)(await command.ExecuteScalarAsync())!;
        return int.Parse(hash.Split('$')[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
