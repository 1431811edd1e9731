using Microsoft.AspNetCore.Http;
using Shohayota.Api.Errors;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Tests.Errors;

/// <summary>The one Retry-After helper of every route that answers an outcome (sign-in, password change, customer and contact search).</summary>
public sealed class ProblemsTests
{
    public static TheoryData<Failure, double, string?> Waits => new()
    {
        { Failure.RateLimited, 2.1, "3" },
        { Failure.ServiceUnavailable, 0.2, "1" },
        { Failure.SearchTimeout, 5, "5" },
        { Failure.TenantBusy, 2, "2" },
        { Failure.InvalidCredentials, 30, null },
        { Failure.Validation, 5, null },
    };

    [Theory]
    [MemberData(nameof(Waits))]
    public void RetryAfterIsSetInWholeSecondsOnlyOnA429Or503(Failure failure, double seconds, string? expected)
    {
        var http = new DefaultHttpContext();

        Problems.SetRetryAfter(http.Response, Outcome<int>.Later(failure, "wait", TimeSpan.FromSeconds(seconds)));

        http.Response.Headers.RetryAfter.ToString().Should().Be(expected ?? "");
    }

    [Fact]
    public void AnOutcomeWithoutAWaitSetsNoRetryAfter()
    {
        var http = new DefaultHttpContext();

        Problems.SetRetryAfter(http.Response, Outcome<int>.Fail(Failure.RateLimited, "busy"));

        http.Response.Headers.ContainsKey("Retry-After").Should().BeFalse();
    }
}
