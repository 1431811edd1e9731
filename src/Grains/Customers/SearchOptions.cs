using System.ComponentModel.DataAnnotations;

namespace Shohayota.Grains.Customers;

public sealed class SearchOptions
{
    public const string SectionName = "Shohayota:Search";

    /// <summary>
    /// The longest a customer search may run in PostgreSQL (<c>SET LOCAL statement_timeout</c>); beyond it the search
    /// answers 503 search-timeout instead of holding its connection.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan StatementTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
