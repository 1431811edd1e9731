using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace Shohayota.TestSupport;

/// <summary>
/// One of our programs (<c>Shohayota.Api.dll</c>, <c>Shohayota.Silo.dll</c>) from the build output as a real child
/// process: its output written to a log file and its last lines kept for failure messages, killed with the test
/// process whatever happened to the tests.
/// </summary>
public sealed class AppProcess : IAsyncDisposable
{
    private const int KeptLines = 400;
    private static readonly ConcurrentBag<AppProcess> Running = CreateRegistry();
    private readonly Process _process;
    private readonly string _name;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly StreamWriter _log;
    private readonly Action<string>? _onLine;
    private bool _closed;

    private AppProcess(Process process, string name, string logFile, Action<string>? onLine)
    {
        _process = process;
        _name = name;
        LogFile = logFile;
        _onLine = onLine;
        _log = new StreamWriter(logFile) { AutoFlush = true };
    }

    /// <summary>Everything the program printed.</summary>
    public string LogFile { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>
    /// Starts <c>dotnet {dll}</c> in the test's build output with <paramref name="arguments"/>, in the Production
    /// environment with workstation GC (several servers share two cores); <paramref name="onLine"/> sees each line.
    /// </summary>
    public static AppProcess Start(string dll, string name, IEnumerable<string> arguments, string logFile, Action<string>? onLine = null)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            // The build output holds the program with its static web assets manifest (MudBlazor, blazor.web.js).
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_gcServer"] = "0";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment.Remove("ASPNETCORE_URLS");
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {dll}.");
        var app = new AppProcess(process, name, logFile, onLine);
        process.OutputDataReceived += (_, e) => app.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => app.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Running.Add(app);
        return app;
    }

    /// <summary>Waits until <c>GET /api/health</c> answers 200 through <paramref name="client"/>; fails with the output if the program exits or never does.</summary>
    public async Task WaitUntilHealthyAsync(HttpClient client, TimeSpan timeout)
    {
        var elapsed = Stopwatch.StartNew();
        while (elapsed.Elapsed < timeout)
        {
            ThrowIfExited("while starting");
            try
            {
                using var response = await client.GetAsync("/api/health");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"{_name} was not ready after {timeout}:\n{Output()}");
    }

    public void ThrowIfExited(string when)
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"{_name} exited with {_process.ExitCode} {when}:\n{Output()}");
        }
    }

    /// <summary>The last lines the program printed, for failure messages.</summary>
    public string Output() => $"--- {_name} (pid {_process.Id}, full output in {LogFile}) ---\n" + string.Join('\n', _output);

    /// <summary>A crash: SIGKILL, no shutdown code runs.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken = default) => _process.WaitForExitAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
        lock (_log)
        {
            _closed = true;
            _log.Dispose();
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            if (!_closed)
            {
                _log.WriteLine(line);
            }
        }

        _output.Enqueue(line);
        while (_output.Count > KeptLines && _output.TryDequeue(out _))
        {
        }

        _onLine?.Invoke(line);
    }

    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }

    private static ConcurrentBag<AppProcess> CreateRegistry()
    {
        var running = new ConcurrentBag<AppProcess>();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var app in running)
            {
                app.Kill();
            }
        };
        return running;
    }
}
