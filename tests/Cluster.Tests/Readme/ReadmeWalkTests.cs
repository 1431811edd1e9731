using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Shohayota.Cluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.Cluster.Tests.Readme;

/// <summary>
/// The README is executable: <c>scripts/readme-walk.sh</c> runs its marked blocks (the run command, sign-in and
/// provisioning, the psql check, add-node, the cluster view) on a fresh copy of the repository and checks each result.
/// </summary>
public sealed partial class ReadmeWalkTests(ITestOutputHelper output)
{
    // Under the CI run's --blame-hang-timeout 10m, so a stuck walk fails with its output instead of a hang dump.
    private static readonly TimeSpan WalkTimeout = TimeSpan.FromMinutes(9.5);

    [Fact]
    public async Task TheReadmesCommandsWorkOnAFreshCloneFromItsRoot()
    {
        var walk = await WalkAsync(Path.Combine(AppConfiguration.RepositoryRoot(), "README.md"));

        walk.ExitCode.Should().Be(0, walk.Output);
        walk.Output.Should().Contain("token issued").And.Contain("the tenants row is in the managed database")
            .And.Contain("a tenant API key created a customer").And.Contain("a CSV import created two customers").And.Contain("three silos active").And.Contain("the README walk passed");
    }

    [Fact]
    public async Task TheWalkFailsWhenTheReadmesRunCommandIsBroken()
    {
        var readme = BrokenReadme("run", block => block.Replace("--project src/Api ", "--project src/Apj ", StringComparison.Ordinal));

        var walk = await WalkAsync(readme);
        File.Delete(readme);

        walk.ExitCode.Should().NotBe(0, walk.Output);
        walk.Output.Should().Contain("start node1: dotnet run --project src/Apj").And.Contain("node1 exited before");
    }

    [Fact]
    public async Task TheWalkFailsWhenTheReadmeLosesAWalkBlock()
    {
        var readme = WriteReadme(File.ReadAllText(Path.Combine(AppConfiguration.RepositoryRoot(), "README.md"))
            .Replace("<!-- walk: psql -->", "", StringComparison.Ordinal));

        var walk = await WalkAsync(readme);
        File.Delete(readme);

        walk.ExitCode.Should().NotBe(0, walk.Output);
        walk.Output.Should().Contain("'<!-- walk: psql -->'");
    }

    /// <summary>A copy of the README whose walk block <paramref name="name"/> is changed by <paramref name="change"/>.</summary>
    private static string BrokenReadme(string name, Func<string, string> change)
    {
        var text = File.ReadAllText(Path.Combine(AppConfiguration.RepositoryRoot(), "README.md"));
        var block = Regex.Match(text, $@"<!-- walk: {Regex.Escape(name)} -->\n```bash\n(?<body>.*?)```", RegexOptions.Singleline);
        block.Success.Should().BeTrue($"the README marks a '{name}' block");
        var body = block.Groups["body"];
        var changed = change(body.Value);
        changed.Should().NotBe(body.Value);
        return WriteReadme(text[..body.Index] + changed + text[(body.Index + body.Length)..]);
    }

    private static string WriteReadme(string text)
    {
        var file = Path.Combine(Path.GetTempPath(), $"shohayota-readme-{Guid.NewGuid():N}.md");
        File.WriteAllText(file, text);
        return file;
    }

    /// <summary>Runs the walk from an unrelated working directory, its logs under TestResults.</summary>
    private async Task<(int ExitCode, string Output)> WalkAsync(string readme)
    {
        var logs = Path.Combine(AppContext.BaseDirectory, "TestResults", "readme-walk", DateTime.UtcNow.ToString("HHmmss-fff", System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(logs);
        var start = new ProcessStartInfo("bash")
        {
            WorkingDirectory = Path.GetTempPath(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppConfiguration.RepositoryRoot(), "scripts", "readme-walk.sh"));
        start.ArgumentList.Add(readme);
        start.Environment["WALK_LOG_DIR"] = logs;
        var text = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(text, e.Data);
        process.ErrorDataReceived += (_, e) => Append(text, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(WalkTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // SIGTERM, not SIGKILL: the walk's own clean-up stops the nodes and the database it started.
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill!.WaitForExitAsync();
            }

            await process.WaitForExitAsync();
            Append(text, $"(the walk did not finish within {WalkTimeout})");
        }

        process.WaitForExit();
        string result;
        lock (text)
        {
            result = text.ToString();
        }

        output.WriteLine(result);
        output.WriteLine($"walk logs: {logs}");
        return (process.ExitCode, result);
    }

    private static void Append(StringBuilder text, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (text)
        {
            text.AppendLine(line);
        }
    }
}
