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
    /// <summary>
    /// A term whose every certain trigram is in at least this share of the rows is broad: a walk of the sort's index over
    /// 1,000 rows (customer_search(), sql/0240) should find a page of 51 there (51 / 1,000 ≈ 5 %).
    /// </summary>
    private const float BroadShare = 0.05f;

    private SearchTrigrams _trigrams = SearchTrigrams.None;
    private long _readAt;
    private Task? _loading;

    /// <summary>The common and broad trigrams as last read; the first call on a node waits for the first read.</summary>
    public async ValueTask<SearchTrigrams> GetAsync()
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

        return _trigrams;
    }

    private async Task LoadAsync()
    {
        await Task.Yield();
        try
        {
            await using var command = dataSource.CreateCommand(
                "SELECT array(SELECT search_common_trigrams($1)), array(SELECT search_common_trigrams($2))");
            command.Parameters.Add(new NpgsqlParameter<float> { TypedValue = (float)_options.CommonTrigramShare });
            command.Parameters.Add(new NpgsqlParameter<float> { TypedValue = Math.Max(BroadShare, (float)_options.CommonTrigramShare) });
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            _trigrams = new SearchTrigrams(
                reader.GetFieldValue<string[]>(0).ToFrozenSet(StringComparer.Ordinal),
                reader.GetFieldValue<string[]>(1).ToFrozenSet(StringComparer.Ordinal));
        }
        catch (NpgsqlException e)
        {
            // Searches still work (nothing is known to be rare: each walks the sort's index first, then the whole term's
            // keys); the next search after the refresh interval tries again.
            logger.LogWarning(e, "Could not read the common search trigrams; searches treat every term as broad until the next read");
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
    /// whole term when it has none, so it is rare (the function lower-cases it as it does the term). With nothing rare
    /// of 3 characters left: null when the term is broad (every trigram it certainly has is in <paramref name="broad"/>,
    /// or there are no statistics; the function then walks the sort's index first, where a broad term fills a page),
    /// else the whole term (a word of it is rarer, "12" of "umbrella 12": straight to the index). Any substring of the
    /// term is a correct index condition (a row containing the term contains it); the function then checks the whole
    /// term on each candidate row. Only ASCII letters and digits form a part, so a part never spans a character whose
    /// lower case pg_trgm and .NET might see differently.
    /// </summary>
    public static string? RarePart(string term, IReadOnlySet<string> common, IReadOnlySet<string> broad)
    {
        if (common.Count == 0 || term.Length < 3)
        {
            return null;
        }

        var lower = term.ToLowerInvariant();
        var anyCommon = false;
        var (bestStart, bestLength) = (0, 0);
        foreach (var (start, end) in Runs(lower))
        {
            // Within the run [start, end): the longest stretch whose every trigram is rare.
            var stretch = start;
            for (var t = start; t + 3 <= end; t++)
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
        }

        if (!anyCommon)
        {
            return term;
        }

        if (bestLength >= 3)
        {
            return lower.Substring(bestStart, bestLength);
        }

        return CertainTrigrams(lower).All(broad.Contains) ? null : term;
    }

    /// <summary>
    /// The trigrams pg_trgm certainly takes from any text containing <paramref name="lower"/>, as far as its ASCII words
    /// show them: each word's inner trigrams, its padded first ones ("  a", " ab") where the term shows its start and its
    /// padded last one ("ab ") where it shows its end. An estimate for choosing a plan, never a search condition.
    /// </summary>
    private static IEnumerable<string> CertainTrigrams(string lower)
    {
        foreach (var (start, end) in Runs(lower))
        {
            var padded = "  " + lower[start..end] + " ";
            for (var t = 0; t + 3 <= padded.Length; t++)
            {
                var trigram = padded.Substring(t, 3);
                if ((trigram[0] != ' ' || start > 0) && (trigram[2] != ' ' || end < lower.Length))
                {
                    yield return trigram;
                }
            }
        }
    }

    /// <summary>The runs [start, end) of ASCII letters and digits in <paramref name="lower"/>.</summary>
    private static IEnumerable<(int Start, int End)> Runs(string lower)
    {
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

            yield return (i, end);
            i = end;
        }
    }

    private static bool IsWordChar(char c) => c is >= 'a' and <= 'z' or >= '0' and <= '9';
}

/// <summary>The trigrams in at least the common share of customers' search texts, and those in at least the broad share.</summary>
public sealed record SearchTrigrams(IReadOnlySet<string> Common, IReadOnlySet<string> Broad)
{
    public static SearchTrigrams None { get; } = new(FrozenSet<string>.Empty, FrozenSet<string>.Empty);
}
