using System.Diagnostics;
using Shohayota.TestSupport;

namespace Shohayota.E2E.Tests.Infrastructure;

/// <summary>The system's chromium (Debian's package), installed on first use by the repository's script.</summary>
public static class Chromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    /// <summary>Headless and quiet: no sandbox (tests run as root in containers), no GPU, no /dev/shm, no update checks.</summary>
    public static readonly string[] Arguments = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"];

    private static readonly SemaphoreSlim Installing = new(1, 1);

    /// <summary>Runs <c>scripts/install-chromium.sh</c> (it does nothing when chromium is there) and fails with its output otherwise.</summary>
    public static async Task EnsureInstalledAsync()
    {
        if (File.Exists(ExecutablePath))
        {
            return;
        }

        await Installing.WaitAsync();
        try
        {
            if (File.Exists(ExecutablePath))
            {
                return;
            }

            var script = Path.Combine(Repository.Root, "scripts", "install-chromium.sh");
            var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(script);
            using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not run {script}.");
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            // Below the test run's 10-minute hang timeout, so a stuck apt-get fails with its output instead of a dump.
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{script} did not finish within 8 minutes:\n{await errors}\n{await output}");
            }

            if (process.ExitCode != 0 || !File.Exists(ExecutablePath))
            {
                throw new InvalidOperationException(
                    $"The browser tests need {ExecutablePath}; {script} exited with {process.ExitCode}:\n{await errors}\n{await output}");
            }
        }
        finally
        {
            Installing.Release();
        }
    }
}
