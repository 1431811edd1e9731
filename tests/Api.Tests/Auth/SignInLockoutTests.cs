using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;
using Shohayota.Api.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.Api.Tests.Auth;

/// <summary>
/// The lockout is per (account, address): failures from one address shut that address out of that account, never the
/// owner signing in from elsewhere (<see cref="SignInHosts.LockoutAsync"/>: default limits without the progressive delay).
/// </summary>
public sealed class SignInLockoutTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TenFailuresFromOneAddressLockThatAddressOutOfThatAccountOnlyWithoutRevealingWhetherItExists()
    {
        var host = await SignInHosts.LockoutAsync();
        var tenant = await host.ProvisionTenantAsync();
        var colleague = await host.AddUserAsync(tenant);
        var colleagueEmail = colleague.Body["user"]!["email"]!.GetValue<string>();
        var unknownEmail = $"nobody-{Guid.NewGuid():N}@nowhere.test";
        var attacker = SignInHosts.NewAddress();

        var known = await AttemptsAsync(host, attacker, tenant.AdminEmail, Enumerable.Repeat("wrong-password", 10).Append(tenant.AdminPassword));
        var unknown = await AttemptsAsync(host, attacker, unknownEmail, Enumerable.Repeat("wrong-password", 10).Append(tenant.AdminPassword));
        using var owner = await host.LoginFromAsync(SignInHosts.NewAddress(), tenant.AdminEmail, tenant.AdminPassword);
        using var attackersOtherAccount = await host.LoginFromAsync(attacker, colleagueEmail, "member-password");

        known.Should().HaveCount(11).And.OnlyContain(r => r.Status == HttpStatusCode.Unauthorized);
        known.Select(r => r.Body).Distinct().Should().ContainSingle("the right password from the locked address is refused with the same body");
        unknown.Should().Equal(known);
        owner.StatusCode.Should().Be(HttpStatusCode.OK, "another address is not locked out");
        attackersOtherAccount.StatusCode.Should().Be(HttpStatusCode.OK, "the lockout is the address's for this account, not for every account");
        var lockouts = await host.AuditDetailsAsync(tenant.Id, "auth.locked_out");
        lockouts.Should().ContainSingle().Which.Should().Contain($"\"address\":\"{attacker}\"");
        (await host.AuditDetailsAsync(tenant.Id, "auth.login_failed")).Should().HaveCount(10, "refusals of the locked address cost no audit row");
    }

    [Fact]
    public async Task WrongCurrentPasswordsOfAPasswordChangeLockThatAddressOutLikeWrongSignIns()
    {
        // A stolen access token must not turn the password-change route into an unlimited password oracle.
        var host = await SignInHosts.LockoutAsync();
        var tenant = await host.ProvisionTenantAsync();
        var thief = SignInHosts.NewAddress();

        var changes = new List<HttpStatusCode>();
        foreach (var current in Enumerable.Repeat("wrong-password", 10).Append(tenant.AdminPassword))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/password")
            {
                Content = JsonContent.Create(new { currentPassword = current, newPassword = "a-brand-new-passphrase" }),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tenant.Admin.AccessToken);
            request.Headers.Add("X-Forwarded-For", thief);
            using var response = await host.Client.SendAsync(request);
            changes.Add(response.StatusCode);
        }

        using var signInFromThief = await host.LoginFromAsync(thief, tenant.AdminEmail, tenant.AdminPassword);
        using var owner = await host.LoginFromAsync(SignInHosts.NewAddress(), tenant.AdminEmail, tenant.AdminPassword);

        changes.Should().OnlyContain(s => s == HttpStatusCode.Unauthorized, "the right current password from the locked address is refused too");
        signInFromThief.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the address is locked out of the account for sign-in as well");
        owner.StatusCode.Should().Be(HttpStatusCode.OK, "the password is unchanged and other addresses are not locked");
        (await host.AuditDetailsAsync(tenant.Id, "auth.locked_out")).Should().ContainSingle().Which.Should().Contain($"\"address\":\"{thief}\"");
        (await host.AuditDetailsAsync(tenant.Id, "user.password_changed")).Should().BeEmpty();
    }

    [Fact]
    public async Task AnAttackersFloodFromOneAddressNeitherLocksNorSlowsTheOwnerSigningInFromAnother()
    {
        var host = await SignInHosts.LockoutAsync();
        var tenant = await host.ProvisionTenantAsync();
        var colleague = await host.AddUserAsync(tenant);
        var colleagueEmail = colleague.Body["user"]!["email"]!.GetValue<string>();
        var (attacker, ownerAddress) = (SignInHosts.NewAddress(), SignInHosts.NewAddress());
        using var stop = new CancellationTokenSource();
        var attempts = 0;
        var flood = Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await host.LoginFromAsync(attacker, tenant.AdminEmail, "wrong-password");
                response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
                Interlocked.Increment(ref attempts);
            }
        })).ToList();
        await WaitForLockoutAsync(host, tenant.Id);
        var (attemptsBefore, floodWindow) = (attempts, Stopwatch.StartNew());
        await Task.Delay(TimeSpan.FromSeconds(1));
        var floodRate = (attempts - attemptsBefore) / floodWindow.Elapsed.TotalSeconds;

        attemptsBefore = attempts;
        var ownerPhase = Stopwatch.StartNew();
        var latencies = new List<TimeSpan>();
        for (var i = 0; i < 20; i++)
        {
            var clock = Stopwatch.StartNew();
            using var signIn = await host.LoginFromAsync(ownerAddress, tenant.AdminEmail, tenant.AdminPassword);
            latencies.Add(clock.Elapsed);
            signIn.StatusCode.Should().Be(HttpStatusCode.OK, $"owner sign-in {i + 1} of 20 during the flood");
        }

        var floodRateWithOwner = (attempts - attemptsBefore) / ownerPhase.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await Task.WhenAll(flood);
        using var ownerAfter = await host.LoginFromAsync(ownerAddress, tenant.AdminEmail, tenant.AdminPassword);
        using var attackerWithThePassword = await host.LoginFromAsync(attacker, tenant.AdminEmail, tenant.AdminPassword);
        using var attackersOtherAccount = await host.LoginFromAsync(attacker, colleagueEmail, "member-password");

        var spread = string.Join(", ", latencies.Select(l => l.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture)));
        output.WriteLine($"owner sign-ins during the flood: p95 {latencies.Order().ElementAt(18).TotalMilliseconds:F0} ms ({spread} ms); flood {floodRate:F0} attempts/s alone, {floodRateWithOwner:F0}/s while the owner signs in (each waits for the account's turn)");
        floodRate.Should().BeGreaterThan(100, "the attacker floods hundreds of attempts per second");
        latencies.Order().ElementAt(18).Should().BeLessThanOrEqualTo(TimeSpan.FromSeconds(2), $"p95 of the owner's sign-ins ({spread} ms, flood {floodRate:F0}/s)");
        ownerAfter.StatusCode.Should().Be(HttpStatusCode.OK, "the owner is not locked after the flood");
        attackerWithThePassword.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the flooding address stays locked out of this account");
        attackersOtherAccount.StatusCode.Should().Be(HttpStatusCode.OK, "and only of this account");
        (await host.AuditDetailsAsync(tenant.Id, "auth.locked_out")).Should().ContainSingle("the lockout is audited once, not per refused attempt");
    }

    [Fact]
    public async Task AnOutOfRangeSignInLimitStopsTheStartWithAMessage()
    {
        var shared = await ApiHost.SharedAsync();
        var start = async () => await ApiHost.StartAsync(shared.Database, settings: ["--Shohayota:Auth:SignIn:HashQueueTimeout=00:05:00"]);

        (await start.Should().ThrowAsync<OptionsValidationException>()).WithMessage("*HashQueueTimeout*");
    }

    private static async Task WaitForLockoutAsync(ApiHost host, Guid tenantId)
    {
        var clock = Stopwatch.StartNew();
        while ((await host.AuditDetailsAsync(tenantId, "auth.locked_out")).Count == 0)
        {
            clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(60), "ten wrong passwords lock the flooding address");
            await Task.Delay(100);
        }
    }

    private static async Task<List<(HttpStatusCode Status, string Body)>> AttemptsAsync(ApiHost host, string address, string email, IEnumerable<string> passwords)
    {
        var results = new List<(HttpStatusCode, string)>();
        foreach (var password in passwords)
        {
            using var response = await host.LoginFromAsync(address, email, password);
            var problem = await response.ProblemAsync();
            problem.Remove("traceId");
            problem.Remove("requestId");
            results.Add((response.StatusCode, problem.ToJsonString()));
        }

        return results;
    }
}
