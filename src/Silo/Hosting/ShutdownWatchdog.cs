using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Shohayota.Silo.Hosting;

/// <summary>
/// Bounds a node's shutdown. From the moment the host starts stopping (SIGTERM, Ctrl+C), the host stops its services
/// cooperatively (<see cref="ClusterShutdown.HostTimeout"/>); what still runs at the bound minus
/// <see cref="ExitAllowance"/> (Orleans retries a membership write for a minute when the database is gone, a grain's
/// final write waits on its connection) is abandoned: one error line names the step it was in and the steps it skips,
/// and the process exits with <see cref="ClusterShutdown.AbandonedExitCode"/>. The other silos then declare it dead by
/// probing, as after a crash.
/// </summary>
public sealed class ShutdownWatchdog(ShutdownWatchdog.Settings settings, ShutdownProgress progress, IHostApplicationLifetime lifetime, ILoggerFactory loggers) : IHostedService, IDisposable
{
    /// <summary>What the exit itself may take after the watchdog fires: the error line reaches the log, the runtime ends.</summary>
    public static readonly TimeSpan ExitAllowance = TimeSpan.FromMilliseconds(2500);

    private readonly ILogger _logger = loggers.CreateLogger("Shohayota.Cluster");
    private readonly ManualResetEventSlim _disposed = new();
    private CancellationTokenRegistration _stopping;
    private CancellationTokenRegistration _stopped;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = lifetime.ApplicationStopping.Register(Arm);
        _stopped = lifetime.ApplicationStopped.Register(() => progress.Enter("disposing the host"));
        return Task.CompletedTask;
    }

    /// <summary>Nothing to do: the watchdog stays armed until the host is disposed, the last thing before the process exits.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _stopping.Dispose();
        _stopped.Dispose();
        _disposed.Set();
    }

    private void Arm()
    {
        var since = Stopwatch.StartNew();
        progress.Enter("stopping the node's services (HTTP requests drain first)");
        _logger.LogInformation("Shutting down: this node exits within {ShutdownTimeout}", settings.Timeout);
        // A thread of its own: a starved thread pool (the usual reason for a slow shutdown) must not delay the exit.
        var watch = new Thread(() =>
        {
            var deadline = settings.Timeout - ExitAllowance - since.Elapsed;
            if (!_disposed.Wait(deadline > TimeSpan.Zero ? deadline : TimeSpan.Zero))
            {
                Abandon(since.Elapsed);
            }
        })
        {
            IsBackground = true,
            Name = "Shohayota shutdown watchdog",
        };
        watch.Start();
    }

    private void Abandon(TimeSpan elapsed)
    {
        var (step, inStep) = progress.Current;
        _logger.LogError(
            "Shutdown did not finish within {ShutdownTimeout} of SIGTERM ({Elapsed:0.0} s); exiting with code {ExitCode}. Abandoned: {Step} " +
            "(for {InStep:0.0} s); not done: {Skipped}. The other silos declare this silo dead by probing",
            settings.Timeout, elapsed.TotalSeconds, ClusterShutdown.AbandonedExitCode, step, inStep.TotalSeconds, progress.Remaining());
        if (!IsTheProcess)
        {
            // Hosted inside another program (a test runner): that program decides when it exits.
            return;
        }

        // The console logger writes on a thread of its own: give it a moment, then end the process. Environment.Exit
        // runs the process-exit handlers; if one of them blocks, a second thread kills the process a second later.
        Thread.Sleep(500);
        new Thread(() =>
        {
            Thread.Sleep(TimeSpan.FromSeconds(1));
            Process.GetCurrentProcess().Kill();
        })
        {
            IsBackground = true,
        }.Start();
        Environment.Exit(ClusterShutdown.AbandonedExitCode);
    }

    /// <summary>True when this node is the process (Shohayota.Api or Shohayota.Silo started as a program).</summary>
    private static bool IsTheProcess => Assembly.GetEntryAssembly()?.GetName().Name is "Shohayota.Api" or "Shohayota.Silo";

    /// <summary>The bound from SIGTERM to the process's exit.</summary>
    public sealed record Settings(TimeSpan Timeout);
}

/// <summary>
/// Which step of the shutdown the node is in: the host's, then the silo's lifecycle stages as Orleans stops them
/// (highest first). Read by <see cref="ShutdownWatchdog"/> to say what it abandoned.
/// </summary>
public sealed class ShutdownProgress : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>The silo stages the shutdown goes through, in the order Orleans stops them, and what each does.</summary>
    private static readonly (int Stage, string Step)[] SiloSteps =
    [
        (ServiceLifecycleStage.Active, "stopping the silo's gateway and listeners"),
        (ServiceLifecycleStage.BecomeActive, "marking this silo ShuttingDown in the membership table"),
        (ServiceLifecycleStage.GrainDeactivation, "deactivating grains (TenantGrains flush their usage counters)"),
        (ServiceLifecycleStage.ApplicationServices, "stopping application services (reminders, backups)"),
        (ServiceLifecycleStage.RuntimeGrainServices, "stopping grain services and handing over the grain directory"),
        (ServiceLifecycleStage.RuntimeInitialize + 1, "writing this silo's death to the membership table"),
        (ServiceLifecycleStage.RuntimeInitialize, "closing the silo's connections"),
    ];

    private readonly Stopwatch _inStep = Stopwatch.StartNew();
    private readonly Lock _lock = new();
    private string _step = "running";
    private int _siloStep = -1;

    public (string Step, TimeSpan Elapsed) Current
    {
        get
        {
            lock (_lock)
            {
                return (_step, _inStep.Elapsed);
            }
        }
    }

    public void Enter(string step)
    {
        lock (_lock)
        {
            _step = step;
            _inStep.Restart();
        }
    }

    /// <summary>The silo's steps after the current one (all of them if the silo has not started stopping).</summary>
    public string Remaining()
    {
        lock (_lock)
        {
            var rest = SiloSteps.Skip(_siloStep + 1).Select(s => s.Step).ToList();
            return rest.Count == 0 ? "nothing of the silo's" : string.Join("; ", rest);
        }
    }

    public void Participate(ISiloLifecycle lifecycle)
    {
        for (var i = 0; i < SiloSteps.Length; i++)
        {
            var index = i;
            lifecycle.Subscribe(nameof(ShutdownProgress), SiloSteps[i].Stage, _ => Task.CompletedTask, _ =>
            {
                lock (_lock)
                {
                    _siloStep = index;
                    _step = SiloSteps[index].Step;
                    _inStep.Restart();
                }

                return Task.CompletedTask;
            });
        }
    }
}
