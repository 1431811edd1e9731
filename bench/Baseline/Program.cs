using Shohayota.Baseline;

// The machine's own ceilings for issue 8 (B1–B4), served beside the real Api against the same PostgreSQL.
var builder = WebApplication.CreateBuilder(args);
builder.AddBaselineDatabase();
var app = builder.Build();
await app.Services.GetRequiredService<BaselineDatabase>().EnsureAuditTableAsync();
app.MapGet("/healthz", () => TypedResults.Ok());
app.MapBaselineApi();
app.MapBaselinePages();
await app.RunAsync();
