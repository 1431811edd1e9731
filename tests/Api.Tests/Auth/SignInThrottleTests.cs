using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Tests.Auth;

/// <summary>Limits checked before any password hash, on a host with tiny ones (<see cref="SignInHosts.StrictAsync"/>).</summary>
public sealed class SignInThrottleTests
{
    [Fact]
    public async Task TheAttemptOverTheAddressWindowIsRefusedBeforeAnyHashWhileAnotherAddressIsServed()
    {
        var host = await SignInHosts.StrictAsync();
        var tenant = TenantBody.New();
        (await host.ProvisionAsync(tenant)).Dispose();
        var gate = host.Services.GetRequiredService<PasswordHashGate>();
        var (attacker, other) = (SignInHosts.NewAddress(), SignInHosts.NewAddress());
        for (var i = 0; i < 3; i++)
        {
            using var allowed = await host.LoginFromAsync(attacker, $"nobody-{Guid.NewGuid():N}@nowhere.test", "wrong-password");
            allowed.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }

        var hashes = gate.Hashes;
        using var refused = await host.LoginFromAsync(attacker, tenant.AdminEmail!, tenant.AdminPassword!);
        var hashesAfterRefusal = gate.Hashes;
        using var served = await host.LoginFromAsync(other, tenant.AdminEmail!, tenant.AdminPassword!);

        refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        (await refused.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("rate-limited"));
        refused.Headers.RetryAfter?.Delta.Should().BeGreaterThan(TimeSpan.Zero);
        hashesAfterRefusal.Should().Be(hashes, "the refusal comes before the e-mail lookup and any hash");
        served.StatusCode.Should().Be(HttpStatusCode.OK, "the window is the attacker address's, not the account's");
    }

    [Fact]
    public async Task WhenTheHashGateIsFullSignInAnswers503WithRetryAfterInsteadOfQueueing()
    {
        var host = await SignInHosts.StrictAsync();
        var tenant = TenantBody.New();
        (await host.ProvisionAsync(tenant)).Dispose();
        var gate = host.Services.GetRequiredService<PasswordHashGate>();
        using var entered = new SemaphoreSlim(0);
        using var release = new SemaphoreSlim(0);
        var holder = Task.Run(() => gate.RunAsync(() =>
        {
            entered.Release();
            release.Wait();
            return true;
        }));
        await entered.WaitAsync();

        using var known = await host.LoginFromAsync(SignInHosts.NewAddress(), tenant.AdminEmail!, tenant.AdminPassword!);
        using var unknown = await host.LoginFromAsync(SignInHosts.NewAddress(), $"nobody-{Guid.NewGuid():N}@nowhere.test", "wrong-password");
        release.Release();
        (await holder).Ran.Should().BeTrue();
        using var afterwards = await host.LoginFromAsync(SignInHosts.NewAddress(), tenant.AdminEmail!, tenant.AdminPassword!);

        foreach (var busy in new[] { known, unknown })
        {
            busy.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            (await busy.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("service-unavailable"));
            busy.Headers.RetryAfter?.Delta.Should().BeGreaterThan(TimeSpan.Zero);
        }

        afterwards.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task AnAddressThatFailedForAnAccountWaitsWhileTheOwnerElsewhereDoesNotAndUnknownEmailsAnswerAlike()
    {
        var host = await SignInHosts.StrictAsync();
        var tenant = TenantBody.New();
        (await host.ProvisionAsync(tenant)).Dispose();
        var gate = host.Services.GetRequiredService<PasswordHashGate>();
        var unknownEmail = $"nobody-{Guid.NewGuid():N}@nowhere.test";
        var (attacker, another) = (SignInHosts.NewAddress(), SignInHosts.NewAddress());

        var known = await TwoFailuresAsync(host, attacker, tenant.AdminEmail!);
        var unknown = await TwoFailuresAsync(host, another, unknownEmail);
        var hashes = gate.Hashes;
        using var attackerWithTheRightPassword = await host.LoginFromAsync(attacker, tenant.AdminEmail!, tenant.AdminPassword!);
        var hashesAfterRefusal = gate.Hashes;
        using var owner = await host.LoginFromAsync(SignInHosts.NewAddress(), tenant.AdminEmail!, tenant.AdminPassword!);

        known.Should().Equal((HttpStatusCode.Unauthorized, "invalid-credentials", false), (HttpStatusCode.TooManyRequests, "rate-limited", true));
        unknown.Should().Equal(known, "a refusal must not tell which e-mails exist");
        attackerWithTheRightPassword.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        attackerWithTheRightPassword.Headers.RetryAfter!.Delta!.Value.Should().BeCloseTo(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10));
        hashesAfterRefusal.Should().Be(hashes, "a waiting address costs no hash");
        owner.StatusCode.Should().Be(HttpStatusCode.OK, "the wait is the failing address's, not the account's");
    }

    [Fact]
    public async Task TheWebUiSaysInWordsWhenToTryAgain()
    {
        var host = await SignInHosts.StrictAsync();
        var tenant = TenantBody.New();
        (await host.ProvisionAsync(tenant)).Dispose();
        var gate = host.Services.GetRequiredService<PasswordHashGate>();
        using var browser = new BrowserSession(host.Client.BaseAddress!);
        browser.Client.DefaultRequestHeaders.Add("X-Forwarded-For", SignInHosts.NewAddress());

        using var wrong = await browser.SignInAsync(tenant.AdminEmail!, "not-the-password");
        using var waiting = await browser.SignInAsync(tenant.AdminEmail!, tenant.AdminPassword!);
        using var entered = new SemaphoreSlim(0);
        using var release = new SemaphoreSlim(0);
        var holder = Task.Run(() => gate.RunAsync(() =>
        {
            entered.Release();
            release.Wait();
            return true;
        }));
        await entered.WaitAsync();
        using var elsewhere = new BrowserSession(host.Client.BaseAddress!);
        elsewhere.Client.DefaultRequestHeaders.Add("X-Forwarded-For", SignInHosts.NewAddress());
        using var busy = await elsewhere.SignInAsync(tenant.AdminEmail!, tenant.AdminPassword!);
        release.Release();
        await holder;

        wrong.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        waiting.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        waiting.Headers.RetryAfter.Should().NotBeNull();
        (await waiting.Content.ReadAsStringAsync()).Should().MatchRegex("Too many sign-in attempts. Wait [0-9]+ seconds and try again.");
        busy.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        busy.Headers.RetryAfter.Should().NotBeNull();
        (await busy.Content.ReadAsStringAsync()).Should().Contain("Sign-in is busy right now. Wait");
    }

    private static async Task<List<(HttpStatusCode Status, string Type, bool RetryAfter)>> TwoFailuresAsync(ApiHost host, string address, string email)
    {
        var results = new List<(HttpStatusCode, string, bool)>();
        for (var i = 0; i < 2; i++)
        {
            using var response = await host.LoginFromAsync(address, email, "wrong-password");
            var type = (await response.ProblemTypeAsync())[HttpExtensions.ProblemType("").Length..];
            results.Add((response.StatusCode, type, response.Headers.RetryAfter is not null));
        }

        return results;
    }
}
