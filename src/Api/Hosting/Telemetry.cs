using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Shohayota.Api.Hosting;

/// <summary>Traces (section <c>Shohayota:Telemetry</c>): off unless turned on or an OTLP endpoint is set. Metrics are always on (<c>NodeMetrics</c>).</summary>
public sealed class TelemetryOptions
{
    public const string SectionName = "Shohayota:Telemetry";

    /// <summary>Record traces (request, grain-call and database spans). Implied by <see cref="OtlpEndpoint"/>.</summary>
    public bool Traces { get; set; }

    /// <summary>Where to send them (OTLP over HTTP/protobuf or gRPC, e.g. <c>http://collector:4317</c>); none: no exporter.</summary>
    public Uri? OtlpEndpoint { get; set; }

    public bool TracesOn => Traces || OtlpEndpoint is not null;
}

/// <summary>
/// Distributed traces through OpenTelemetry: ASP.NET Core's request spans, Orleans' grain-call spans (activity
/// propagation across silos) and Npgsql's command spans, each request's and each tenant-owned grain call's span tagged
/// <c>tenant.id</c> from the validated caller. Nothing is recorded, and nothing costs anything, unless traces are on.
/// </summary>
public static class Telemetry
{
    public static TelemetryOptions Read(IConfiguration configuration) =>
        configuration.GetSection(TelemetryOptions.SectionName).Get<TelemetryOptions>() ?? new TelemetryOptions();

    public static WebApplicationBuilder AddShohayotaTelemetry(this WebApplicationBuilder builder)
    {
        var options = Read(builder.Configuration);
        // Metrics are always on (NodeMetrics); the resource names this node in both.
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("shohayota", serviceInstanceId: Environment.MachineName + "/" + Environment.ProcessId));
        if (!options.TracesOn)
        {
            return builder;
        }

        telemetry.WithTracing(tracing =>
        {
            tracing
                // Health probes and scrapes would be most of the spans and say nothing.
                .AddAspNetCoreInstrumentation(o => o.Filter = http =>
                    !http.Request.Path.StartsWithSegments("/api/health") && !http.Request.Path.StartsWithSegments("/metrics"))
                .AddSource("Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application")
                .AddSource("Npgsql");
            if (options.OtlpEndpoint is { } endpoint)
            {
                tracing.AddOtlpExporter(o => o.Endpoint = endpoint);
            }
        });
        return builder;
    }
}
