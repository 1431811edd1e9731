using System.Collections.Frozen;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Shohayota.Grains.Customers;

/// <summary>
/// The trigrams most customers' search text has (sql/0140: from the table's statistics, refreshed by ANALYZE), cached
/// on this node and read again every <see cref="SearchOptions.CommonTrigramsRefresh"/> in the background. A search
/// sends only the rare part of its term to the search index (<see cref="RarePart"/>); without statistics (a new
/// database, or the read failed) nothing is known to be rare, and every search walks the sort's index first.
/// </summary>
public sealed class CommonTrigrams(NpgsqlDataSource dataSource, IOptions<SearchOptions> options, TimeProvider time, ILogger<CommonTrigrams> logger)
{
    private readonly SearchOptions _options = options.Value;
    private readonly Lock _gate = new();
    private FrozenSet<string> _common = FrozenSet<string>.Empty;
    private long _readAt;
    private Task? _loading;

    /// <summary>The common trigrams as last read; the first call on a node waits for the first read.</summary>
    public async ValueTask<IReadOnlySet<string>> GetAsync()
    {
        Task? first = null;
        lock (_gate)
        {
            if (_loading is null && (_readAt == 0 || time.GetElapsedTime(_readAt) >= _options.CommonTrigramsRefresh))
            {
                _loading = LoadAsync();
                first = _readAt == 0 ? _loading : null;
            }
            else if (_readAt == 0)
            {
                first = _loading;
            }
        }

        if (first is not null)
        {
            await first;
        }

        return _common;
    }

    private async Task LoadAsync()
    {
        await Task.Yield();
        try
        {
            var common = new List<string>();
            await using var command = dataSource.CreateCommand("SELECT search_common_trigrams($1)");
            command.Parameters.Add(new NpgsqlParameter<float> { TypedValue = (float)_options.CommonTrigramShare });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                common.Add(reader.GetString(0));
            }

            _common = common.ToFrozenSet(StringComparer.Ordinal);
        }
        catch (NpgsqlException e)
        {
            // Searches still work (whole terms to the index); the next search after the refresh interval tries again.
            logger.LogWarning(e, "Could not read the common search trigrams; searches use their whole term until the next read");
        }
        finally
        {
            lock (_gate)
            {
                _readAt = time.GetTimestamp();
                _loading = null;
            }
        }
    }

    /// <summary>
    /// What of <paramref name="term"/> goes to the search index (sql/0240's keys): the longest part (letters a–z and
    /// digits, at least 3) none of whose trigrams is <paramref name="common"/> when the term has a common trigram; the
    /// whole term when it has none, so it is rare (the function lower-cases it as it does the term); null when nothing
    /// rare of 3 characters is left or there are no statistics (the function then walks the sort's index first, as for
    /// a broad term). Any substring of the term is a correct index condition (a row containing the term contains it);
    /// the function then checks the whole term on each candidate row. Only ASCII letters and digits form a part, so a
    /// part never spans a character whose lower case pg_trgm and .NET might see differently.
    /// </summary>
    public static string? RarePart(string term, IReadOnlySet<string> common)
    {
        if (common.Count == 0 || term.Length < 3)
        {
            return null;
        }

        var lower = term.ToLowerInvariant();
        var anyCommon = false;
        var (bestStart, bestLength) = (0, 0);
        var i = 0;
        while (i < lower.Length)
        {
            if (!IsWordChar(lower[i]))
            {
                i++;
                continue;
            }

            var end = i;
            while (end < lower.Length && IsWordChar(lower[end]))
            {
                end++;
            }

            // Within the run [i, end): the longest stretch whose every trigram is rare.
            var stretch = i;
            for (var t = i; t + 3 <= end; t++)
            {
                if (common.Contains(lower.Substring(t, 3)))
                {
                    anyCommon = true;
                    stretch = t + 1;
                }
                else if (t + 3 - stretch > bestLength)
                {
                    (bestStart, bestLength) = (stretch, t + 3 - stretch);
                }
            }

            i = end;
        }

        if (!anyCommon)
        {
            return term;
        }

        return bestLength >= 3 ? lower.Substring(bestStart, bestLength) : null;
    }

    private static bool IsWordChar(char c) => c is >= 'a' and <= 'z' or >= '0' and <= '9';
}
