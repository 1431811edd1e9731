using System.Diagnostics;
using Shohayota.TestSupport;

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

/// <summary>One node of a test cluster: a real child process (<see cref="AppProcess"/>), started from the build output.</summary>
public sealed class ClusterNode : IAsyncDisposable
{
    private readonly AppProcess _process;
    private readonly TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ClusterNode(string name, NodeKind kind, Func<ClusterNode, AppProcess> start, int httpPort, int siloPort, int gatewayPort)
    {
        Name = name;
        Kind = kind;
        HttpPort = httpPort;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        Client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"),
            Timeout = TimeSpan.FromSeconds(100),
        };
        _process = start(this);
    }

    public string Name { get; }

    public NodeKind Kind { get; }

    public int HttpPort { get; }

    /// <summary>Everything the node printed.</summary>
    public string LogFile => _process.LogFile;

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public HttpClient Client { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public int? ExitCode => _process.ExitCode;

    public static ClusterNode Start(string name, NodeKind kind, IEnumerable<string> arguments, string logFile, int httpPort, int siloPort, int gatewayPort) =>
        new(name, kind, node => AppProcess.Start(kind == NodeKind.Silo ? "Shohayota.Silo.dll" : "Shohayota.Api.dll", name, arguments, logFile, node.Watch),
            httpPort, siloPort, gatewayPort);

    /// <summary>Ready: an HTTP node answers a healthy /api/health; a standalone silo has logged that it joined.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        if (Kind != NodeKind.Silo)
        {
            await _process.WaitUntilHealthyAsync(Client, timeout);
            return;
        }

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout && !_joined.Task.IsCompleted)
        {
            _process.ThrowIfExited("while starting");
            await Task.Delay(250);
        }

        if (!_joined.Task.IsCompleted)
        {
            throw new TimeoutException($"Node {Name} was not ready after {timeout}:\n{Output()}");
        }
    }

    /// <summary>A crash: SIGKILL, no shutdown code runs.</summary>
    public void Kill() => _process.Kill();

    /// <summary>What an operator's "remove a node" does: SIGTERM, then wait for the process to leave.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var signal = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await signal.WaitForExitAsync();
        }

        using var wait = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(wait.Token);
        return _process.ExitCode!.Value;
    }

    /// <summary>Waits for a node that stops by itself (a refused start) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var wait = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(wait.Token);
        return _process.ExitCode!.Value;
    }

    /// <summary>The last lines the node printed, for failure messages.</summary>
    public string Output() => _process.Output();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _process.DisposeAsync();
    }

    private void Watch(string line)
    {
        if (line.Contains("joined the cluster", StringComparison.Ordinal))
        {
            _joined.TrySetResult();
        }
    }
}
