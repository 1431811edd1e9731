using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace Shohayota.Cluster.Tests.Infrastructure;

public enum NodeKind
{
    /// <summary><c>Shohayota.Api.dll</c> with its co-hosted silo (the default).</summary>
    Api,

    /// <summary><c>Shohayota.Api.dll</c> with <c>Shohayota:Cluster:Mode=client</c>: HTTP only, grains elsewhere.</summary>
    Client,

    /// <summary><c>Shohayota.Silo.dll</c>: a silo without HTTP.</summary>
    Silo,
}

/// <summary>One node of a test cluster: a real child process, started from the build output, with its output kept.</summary>
public sealed class ClusterNode : IAsyncDisposable
{
    private const int KeptLines = 400;
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StreamWriter _log;
    private bool _closed;

    private ClusterNode(string name, NodeKind kind, Process process, string logFile, int httpPort, int siloPort, int gatewayPort)
    {
        Name = name;
        LogFile = logFile;
        _log = new StreamWriter(logFile) { AutoFlush = true };
        Kind = kind;
        _process = process;
        HttpPort = httpPort;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        Client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"),
            Timeout = TimeSpan.FromSeconds(100),
        };
    }

    public string Name { get; }

    public NodeKind Kind { get; }

    public int HttpPort { get; }

    /// <summary>Everything the node printed.</summary>
    public string LogFile { get; }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public HttpClient Client { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public static ClusterNode Start(string name, NodeKind kind, IEnumerable<string> arguments, string logFile, int httpPort, int siloPort, int gatewayPort)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, kind == NodeKind.Silo ? "Shohayota.Silo.dll" : "Shohayota.Api.dll");
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Workstation GC: four server-GC processes on two cores would mostly collect garbage.
        start.Environment["DOTNET_gcServer"] = "0";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment.Remove("ASPNETCORE_URLS");
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {dll}.");
        var node = new ClusterNode(name, kind, process, logFile, httpPort, siloPort, gatewayPort);
        process.OutputDataReceived += (_, e) => node.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => node.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Running.Add(node);
        return node;
    }

    /// <summary>Ready: an HTTP node answers a healthy /api/health; a standalone silo has logged that it joined.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Node {Name} exited with {_process.ExitCode} while starting:\n{Output()}");
            }

            if (Kind == NodeKind.Silo)
            {
                if (_joined.Task.IsCompleted)
                {
                    return;
                }
            }
            else
            {
                try
                {
                    using var response = await Client.GetAsync("/api/health");
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"Node {Name} was not ready after {timeout}:\n{Output()}");
    }

    /// <summary>A crash: SIGKILL, no shutdown code runs.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>What an operator's "remove a node" does: SIGTERM, then wait for the process to leave.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var signal = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await signal.WaitForExitAsync();
        }

        using var wait = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(wait.Token);
        return _process.ExitCode;
    }

    /// <summary>The last lines the node printed, for failure messages.</summary>
    public string Output() => $"--- {Name} (pid {_process.Id}, full output in {LogFile}) ---\n" + string.Join('\n', _output);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
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

        if (line.Contains("joined the cluster", StringComparison.Ordinal))
        {
            _joined.TrySetResult();
        }
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

    /// <summary>Every node still running; killed when the test process exits, whatever happened to the tests.</summary>
    private static readonly ConcurrentBag<ClusterNode> Running = CreateRegistry();

    private static ConcurrentBag<ClusterNode> CreateRegistry()
    {
        var running = new ConcurrentBag<ClusterNode>();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var node in running)
            {
                try
                {
                    node.Kill();
                }
                catch (InvalidOperationException)
                {
                }
            }
        };
        return running;
    }
}
