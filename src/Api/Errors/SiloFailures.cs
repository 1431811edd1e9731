using Orleans.Runtime;
using Orleans.Runtime.Messaging;

namespace Shohayota.Api.Errors;

/// <summary>The one test of "a silo is gone" that the error handler (503) and <see cref="ReadRetry"/> (one more try) share.</summary>
public static class SiloFailures
{
    /// <summary>
    /// A connection failure to a silo that died or left, anywhere in the exception's inner chain (Orleans and our own
    /// code may wrap it): the same call may succeed once membership has caught up.
    /// </summary>
    public static bool IsSiloGone(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is SiloUnavailableException or OrleansMessageRejectionException or ConnectionFailedException)
            {
                return true;
            }
        }

        return false;
    }
}
