using System.Diagnostics;

namespace Shohayota.Cluster.Tests.Infrastructure;

/// <summary>scripts/dev-certs.sh, run as the README says: a development CA and certificates for the named nodes.</summary>
public static class DevCertificates
{
    /// <summary>Runs the script into <paramref name="directory"/>; fails with its output unless it succeeds, and returns that output.</summary>
    public static async Task<string> MakeAsync(string directory, IEnumerable<string> nodeNames)
    {
        using var script = Process.Start(new ProcessStartInfo("bash", [Path.Combine(AppConfiguration.RepositoryRoot(), "scripts", "dev-certs.sh"), "--out", directory, .. nodeNames])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("Could not start bash.");
        var output = script.StandardOutput.ReadToEndAsync();
        var errors = script.StandardError.ReadToEndAsync();
        await script.WaitForExitAsync();
        var all = await output + await errors;
        script.ExitCode.Should().Be(0, all);
        return all;
    }
}
