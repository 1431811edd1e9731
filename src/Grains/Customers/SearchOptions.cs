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

    /// <summary>
    /// A trigram in at least this share of all customers' search text (0–1) is common: a search sends only the rare
    /// part of its term to the search index (sql/0140, sql/0240, <see cref="CommonTrigrams"/>).
    /// </summary>
    [Range(0.0001, 1.0)]
    public double CommonTrigramShare { get; set; } = 0.01;

    /// <summary>How often each node reads the common trigrams again (they change when ANALYZE runs).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan CommonTrigramsRefresh { get; set; } = TimeSpan.FromMinutes(5);
}
