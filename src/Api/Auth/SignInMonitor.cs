using System.Net;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Auth;

/// <summary>How one sign-in attempt ended, as the node counts it.</summary>
public enum SignInResult
{
    Succeeded,
    Failed,
    UnknownEmail,
    Throttled,
    Busy,
    Refused,
}

/// <summary>This node's sign-in outcomes (for metrics and alerts).</summary>
public sealed class SignInMonitor
{
    private readonly long[] _counts = new long[Enum.GetValues<SignInResult>().Length];

    public static SignInResult Classify(Failure failure) => failure switch
    {
        Failure.None => SignInResult.Succeeded,
        Failure.InvalidCredentials => SignInResult.Failed,
        Failure.RateLimited => SignInResult.Throttled,
        _ => SignInResult.Refused,
    };

    public void Record(SignInResult result, IPAddress? client)
    {
        _ = client;
        Interlocked.Increment(ref _counts[(int)result]);
    }

    public long Count(SignInResult result) => Interlocked.Read(ref _counts[(int)result]);
}
