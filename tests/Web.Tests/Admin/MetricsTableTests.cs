using Shohayota.Api.Metrics;
using Shohayota.Api.Web.Components.Pages.Admin;

namespace Shohayota.Web.Tests.Admin;

public sealed class MetricsTableTests : UiTestContext
{
    private static readonly MetricsApi.TenantRow[] Rows =
    [
        Row("Bravo", apiCallsMonth: 900, customers: 30, storageBytes: 10, latency: null),
        Row("Alpha", apiCallsMonth: 500, customers: 10, storageBytes: 30, latency: 120),
        Row("Charlie", apiCallsMonth: 100, customers: 20, storageBytes: 20, latency: 80),
        Row("Delta", apiCallsMonth: 700, customers: 40, storageBytes: 40, latency: 150),
    ];

    [Fact]
    public void RowsStartWithTheMostApiCallsThisMonthAsTheApiSortsThem()
    {
        var table = Render<MetricsTable>(p => p.Add(t => t.Rows, Rows));

        Names(table).Should().Equal("Bravo", "Delta", "Alpha", "Charlie");
    }

    [Theory]
    [InlineData("Tenant", new[] { "Alpha", "Bravo", "Charlie", "Delta" })]
    [InlineData("Customers", new[] { "Alpha", "Charlie", "Bravo", "Delta" })]
    [InlineData("Storage", new[] { "Bravo", "Charlie", "Alpha", "Delta" })]
    [InlineData("p95 latency (ms)", new[] { "Bravo", "Charlie", "Alpha", "Delta" })]
    public void AHeaderSortsByItsMetricAscendingFirst(string header, string[] expected)
    {
        var table = Render<MetricsTable>(p => p.Add(t => t.Rows, Rows));

        SortBy(table, header);

        Names(table).Should().Equal(expected);
    }

    [Fact]
    public void ASecondClickSortsDescending()
    {
        var table = Render<MetricsTable>(p => p.Add(t => t.Rows, Rows));

        SortBy(table, "Customers");
        SortBy(table, "Customers");

        Names(table).Should().Equal("Delta", "Bravo", "Charlie", "Alpha");
    }

    [Fact]
    public void EveryMetricTheApiSortsByHasASortableHeader()
    {
        var table = Render<MetricsTable>(p => p.Add(t => t.Rows, Rows));

        table.FindComponents<MudBlazor.MudTableSortLabel<MetricsApi.TenantRow>>().Select(l => l.Instance.SortLabel).Should().BeEquivalentTo(
            "name", "apiCallsMonth", "apiCallsToday", "requests4xx", "requests5xx", "errorRate", "customers", "users", "storageBytes", "activeUsers", "latencyP95Ms");
    }

    private static MetricsApi.TenantRow Row(string name, long apiCallsMonth, long customers, long storageBytes, double? latency) =>
        new(Guid.NewGuid(), name, "active", "free", apiCallsMonth, 0, 0, 0, customers, 1, storageBytes, 0, latency);

    private static void SortBy(IRenderedComponent<MetricsTable> table, string header) =>
        table.FindAll(".mud-table-sort-label").Single(l => l.TextContent.Trim() == header).Click();

    private static List<string> Names(IRenderedComponent<MetricsTable> table) =>
        table.FindAll("[data-testid=metrics-tenant] a").Select(a => a.TextContent.Trim()).ToList();
}
