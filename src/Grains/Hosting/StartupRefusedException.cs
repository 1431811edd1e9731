namespace Shohayota.Grains.Hosting;

/// <summary>
/// A configuration this node will not run with (a benchmark switch outside a benchmark, plain TCP off the loopback, a
/// key that is not base64, a certificate that cannot be loaded). Most are found before anything binds a port or starts a
/// database; the hosts print the message and exit with code 1, stopping a managed PostgreSQL they had started.
/// </summary>
public sealed class StartupRefusedException : InvalidOperationException
{
    public StartupRefusedException()
    {
    }

    public StartupRefusedException(string message)
        : base(message)
    {
    }

    public StartupRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The refusal in <paramref name="exception"/> or among its inner exceptions (a host may wrap what a hosted service threw).</summary>
    public static StartupRefusedException? Find(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is StartupRefusedException refused)
            {
                return refused;
            }
        }

        return null;
    }
}
