using System.Text.Json.Nodes;
using Npgsql;
using Shohayota.TestSupport;

namespace Shohayota.Silo.Tests.Database;

/// <summary>
/// customer_search() (sql/0120) runs as the owner, past row-level security: it must still answer for the transaction's
/// tenant only, and it must keep using the tenant-leading indexes that are the reason it exists.
/// </summary>
public sealed class CustomerSearchFunctionTests
{
    [Fact]
    public async Task TheSearchFunctionReturnsOnlyTheTenantOfTheTransactionAndNothingWithoutOne()
    {
        var database = await TestDatabase.SharedAsync();
        var (a, b) = (Guid.NewGuid(), Guid.NewGuid());
        var term = "zq" + Guid.NewGuid().ToString("N")[..8];
        await InsertAsync(database, a, 3, term);
        await InsertAsync(database, b, 5, term);
        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();

        var none = await SearchTenantsAsync(connection, null, term);
        var asA = await SearchTenantsAsync(connection, a, term);
        var asB = await SearchTenantsAsync(connection, b, term);
        var shortAsA = await SearchTenantsAsync(connection, a, "zq");

        none.Should().BeEmpty();
        asA.Should().HaveCount(3).And.AllBeEquivalentTo(a);
        asB.Should().HaveCount(5).And.AllBeEquivalentTo(b);
        shortAsA.Should().NotBeEmpty().And.AllBeEquivalentTo(a);
    }

    [Fact]
    public async Task OnlyTheRuntimeRoleMayExecuteTheSearchFunctionAndItPinsItsSearchPath()
    {
        var database = await TestDatabase.SharedAsync();
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();

        await using var read = new NpgsqlCommand(
            """
            SELECT p.prosecdef, p.proconfig, array(SELECT a.grantee::regrole::text FROM aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE' ORDER BY 1)
            FROM pg_proc p WHERE p.proname = 'customer_search'
            """,
            connection);
        await using var reader = await read.ExecuteReaderAsync();
        (await reader.ReadAsync()).Should().BeTrue();

        reader.GetBoolean(0).Should().BeTrue();
        reader.GetFieldValue<string[]>(1).Should().Contain("search_path=public, pg_temp");
        reader.GetFieldValue<string[]>(2).Should().BeEquivalentTo("shohayota_app", "shohayota_owner");
        (await reader.ReadAsync()).Should().BeFalse("one customer_search, no overload");
    }

    [Fact]
    public async Task ASelectiveSearchUsesTheTenantLeadingIndexesAndReadsAFewPages()
    {
        var database = await TestDatabase.SharedAsync();
        var (small, large) = (Guid.NewGuid(), Guid.NewGuid());
        var word = "zz" + Guid.NewGuid().ToString("N")[..8];
        await InsertAsync(database, large, 20_000, "bulk");
        await InsertAsync(database, small, 5_000, "other");
        await InsertAsync(database, small, 1, word);
        await VacuumAsync(database);

        string definition;
        await using (var catalog = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await catalog.OpenAsync();
            await using var read = new NpgsqlCommand("SELECT indexdef FROM pg_indexes WHERE indexname = 'customers_search_keys_idx'", catalog);
            definition = (string)(await read.ExecuteScalarAsync())!;
        }

        // As the grain sends a term none of whose trigrams is common: whole, as its own rare part.
        var longTerm = await PlanAsync(database, small, word, word);
        var shortTerm = await PlanAsync(database, small, "zz");
        longTerm.Count.Should().Be(1);
        shortTerm.Count.Should().Be(1);

        definition.Should().Contain("USING gin (customer_search_keys(tenant_id, search_text))");
        IndexesOf(longTerm.Plan).Should().ContainSingle().Which.Should().Be("customers_search_keys_idx", longTerm.Plan.ToJsonString());
        // Under the C collation (the managed cluster's) the name sort's index serves a name prefix as well as the prefix index.
        IndexesOf(shortTerm.Plan).Should().Contain(["customers_email_prefix_idx", "customers_company_prefix_idx"], shortTerm.Plan.ToJsonString())
            .And.ContainSingle(i => i == "customers_name_prefix_idx" || i == "customers_name_idx");
        // Walking this tenant's 5,000 rows, or the table, reads hundreds of pages; the indexes find the one match in a few.
        longTerm.TablePages.Should().BeLessThan(100);
        shortTerm.TablePages.Should().BeLessThan(100);
    }

    [Fact]
    public async Task OnlyTheRarePartGoesToTheIndexAndTheWholeTermIsStillCheckedOnEveryRow()
    {
        var database = await TestDatabase.SharedAsync();
        var tenant = Guid.NewGuid();
        var rare = "q" + Guid.NewGuid().ToString("N")[..7];
        await InsertAsync(database, tenant, 5_000, "common");
        await InsertNamedAsync(database, tenant, $"Shop customer {rare}", $"{rare} elsewhere", $"customer {rare[..4]}");
        await VacuumAsync(database);

        var withPart = await PlanAsync(database, tenant, $"customer {rare}", rare);
        var notAPart = await PlanAsync(database, tenant, $"customer {rare}", "zzzzzz");

        // One row has the whole term; the one with only the rare part is a candidate from the index and is checked out.
        withPart.Count.Should().Be(1);
        notAPart.Count.Should().Be(1, "a part that is not in the term is ignored: the whole term goes to the index");
        // The part's keys, with the space before it in the term (a word starts there): none of "customer"'s.
        IndexConditions(withPart.Plan).Should().ContainSingle()
            .Which.Should().Contain(await TermKeysAsync(database, tenant, " " + rare), withPart.Plan.ToJsonString());
        (await TermKeysAsync(database, tenant, " " + rare)).Should().NotBe(await TermKeysAsync(database, tenant, $"customer {rare}"));
        IndexConditions(notAPart.Plan).Should().ContainSingle().Which.Should().Contain(await TermKeysAsync(database, tenant, $"customer {rare}"));
    }

    [Fact]
    public async Task ATermsKeysAreKeysOfEveryTextThatContainsItSoTheIndexNeverMissesAMatch()
    {
        // Texts of words, digits, separators, the search text's own separator (chr 31), upper case and non-ASCII letters;
        // every term is a substring of a text as the database lower-cases it, cut anywhere, mid-word included.
        var database = await TestDatabase.SharedAsync();
        var random = new Random(1717);
        string[] pieces = ["umbrella", "12", "Globex", "o'neil", "müller", "ÉCOLE", "straße", "日本", "x", "ab", "a1b2", "@", ".", "-", "_", " ", "  ", "\u001f", "%", "ﬁ", "İ"];
        var texts = new List<string>();
        var starts = new List<int>();
        var lengths = new List<int>();
        for (var i = 0; i < 4_000; i++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(2, 9)).Select(_ => pieces[random.Next(pieces.Length)]));
            texts.Add(text);
            starts.Add(random.Next(1, Math.Max(2, text.Length - 2)));
            lengths.Add(random.Next(3, 13));
        }

        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var check = new NpgsqlCommand(
            """
            WITH cases AS (
                SELECT gen_random_uuid() AS tenant, lower(x.text) AS text, substr(lower(x.text), x.start, x.length) AS term
                FROM unnest($1::text[], $2::int[], $3::int[]) AS x(text, start, length))
            SELECT count(*) FILTER (WHERE char_length(term) >= 3),
                   count(*) FILTER (WHERE char_length(term) >= 3 AND cardinality(customer_search_term_keys(tenant, term)) > 0),
                   count(*) FILTER (WHERE char_length(term) >= 3 AND NOT customer_search_keys(tenant, text) @> customer_search_term_keys(tenant, term)),
                   min(term) FILTER (WHERE char_length(term) >= 3 AND NOT customer_search_keys(tenant, text) @> customer_search_term_keys(tenant, term))
            FROM cases
            """,
            connection);
        check.Parameters.Add(new NpgsqlParameter { Value = texts.ToArray() });
        check.Parameters.Add(new NpgsqlParameter { Value = starts.ToArray() });
        check.Parameters.Add(new NpgsqlParameter { Value = lengths.ToArray() });
        await using var reader = await check.ExecuteReaderAsync();
        await reader.ReadAsync();

        var (terms, withKeys, missed) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        missed.Should().Be(0, $"a text containing a term must have all its keys (first missed term: {(reader.IsDBNull(3) ? "" : reader.GetString(3))})");
        terms.Should().BeGreaterThan(3_000);
        withKeys.Should().BeGreaterThan(terms * 9 / 10, "most terms have certain trigrams, so the check is not empty");
    }

    [Fact]
    public async Task ASmallTenantsSearchReadsTheSameIndexPagesHoweverManyRowsOtherTenantsHaveWithItsWords()
    {
        // A database of its own: other tests' rows, inserted between the vacuum and the search, would sit in the index's
        // pending list, which every search reads.
        await using var database = await TestDatabase.StartAsync();
        var (small, other) = (Guid.NewGuid(), Guid.NewGuid());
        var word = "w" + Guid.NewGuid().ToString("N")[..5];
        // A third tenant's 5,000 rows first, so the index's tree of keys has its depth before the first measure and
        // the other tenant's keys only add leaves (one leaf per key looked up either way).
        await InsertCompaniesAsync(database, Guid.NewGuid(), 5_000, "filler");
        await InsertCompaniesAsync(database, small, 300, word);
        await VacuumAsync(database);
        var term = $"{word} 12";
        var before = await PlanAsync(database, small, term, term);

        // Another tenant gets 20,000 rows with the same words ("{word} 0" … "{word} 19999").
        await InsertCompaniesAsync(database, other, 20_000, word);
        await VacuumAsync(database);
        var after = await PlanAsync(database, small, term, term);

        before.Count.Should().Be(11, "\"{0} 12\" and \"{0} 120\" … \"{0} 129\" of its own 300", word);
        after.Count.Should().Be(before.Count);
        var (pagesBefore, pagesAfter) = (before.KeyPages, after.KeyPages);
        pagesBefore.Should().BePositive(before.Plan.ToJsonString());
        // Its keys' posting lists hold only its own rows: the other tenant's rows add no page to this search.
        pagesAfter.Should().Be(pagesBefore, after.Plan.ToJsonString());
    }

    [Theory]
    [InlineData("-createdAt")]
    [InlineData("createdAt")]
    [InlineData("name")]
    [InlineData("-updatedAt")]
    public async Task ABroadTermsPagesAreTheSameWhetherTheSortsWalkOrTheIndexFindsThem(string sort)
    {
        // 2,500 rows: "tango" on the 60 rows at one end and the 5 at the other (by creation and by name), so the walk of
        // 1,000 rows finds a whole page from one end and only part of one (or none) from the other; "foxtrot" on every
        // 40th row, so the walk finds 25 and the index the rest.
        var database = await TestDatabase.SharedAsync();
        var tenant = Guid.NewGuid();
        await using (var connection = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await connection.OpenAsync();
            await Execute(connection, $"""
                INSERT INTO customers (tenant_id, id, name, email, company, status, tags, created_at, updated_at, version)
                SELECT '{tenant}', gen_random_uuid(), 'c' || lpad(g::text, 5, '0'), NULL,
                       CASE WHEN g <= 60 OR g > 2495 THEN 'tango ' || g ELSE 'x ' || g END
                           || CASE WHEN g % 40 = 0 THEN ' foxtrot' ELSE '' END,
                       'lead', ARRAY[]::text[], now() - g * interval '1 second', now() - g * interval '1 second', 1
                FROM generate_series(1, 2500) AS g
                """);
        }

        foreach (var term in new[] { "tango", "foxtrot" })
        {
            var truth = await TruthAsync(database, tenant, term, sort);
            var walkFirst = await PageIdsAsync(database, tenant, term, sort, null);
            var indexOnly = await PageIdsAsync(database, tenant, term, sort, term);
            walkFirst.Should().Equal(truth, $"{term}, {sort}, walk first");
            indexOnly.Should().Equal(truth, $"{term}, {sort}, index");
        }
    }

    [Fact]
    public async Task TheCommonTrigramsComeFromTheStatisticsAndOnlyTheRuntimeRoleMayReadThem()
    {
        var database = await TestDatabase.SharedAsync();
        var word = "k" + Guid.NewGuid().ToString("N")[..6];
        await InsertAsync(database, Guid.NewGuid(), 8_000, word);
        await using (var superuser = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await superuser.OpenAsync();
            await Execute(superuser, "ANALYZE customers");
        }

        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand(
            """
            SELECT array(SELECT search_common_trigrams(0.01)),
                   array(SELECT a.grantee::regrole::text FROM pg_proc p, aclexplode(p.proacl) a
                         WHERE p.proname = 'search_common_trigrams' AND a.privilege_type = 'EXECUTE' ORDER BY 1)
            """,
            connection);
        await using var reader = await read.ExecuteReaderAsync();
        await reader.ReadAsync();

        // Every one of those 8,000 rows has the word: its trigrams are common, a rare trigram of nobody's is not.
        reader.GetFieldValue<string[]>(0).Should().Contain(word[..3]).And.NotContain("zq#");
        reader.GetFieldValue<string[]>(1).Should().BeEquivalentTo("shohayota_app", "shohayota_owner");
    }

    /// <summary>
    /// The plan customer_search() ran, as the runtime role, from auto_explain (nested statements, JSON); the pages of the
    /// customers table and its indexes it read, and those of the search keys' index alone (<see cref="NestedPlans"/>:
    /// counted by the relations, not from the plan's buffers, which also count catalog pages a connection with cold
    /// caches reads).
    /// </summary>
    private static async Task<(JsonNode Plan, long TablePages, long KeyPages, long Count)> PlanAsync(TestDatabase database, Guid tenant, string term, string? rarePart = null)
    {
        var (inner, count, pages) = await NestedPlans.CaptureAsync(
            database,
            tenant,
            "SELECT count(*) FROM customer_search($1, '-createdAt', 51, p_index_term => $2)",
            "FROM customers c",
            ["customers", "customers_search_keys_idx"],
            new NpgsqlParameter { Value = term },
            new NpgsqlParameter { Value = (object?)rarePart ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });

        // A broad term may run two statements (the sort's walk, then the index): the last answered; pages are of both.
        inner.Should().NotBeEmpty();
        return (inner[^1], pages[0], pages[1], (long)count!);
    }

    private static IEnumerable<string> IndexConditions(JsonNode node)
    {
        if (node["Index Cond"] is { } condition && node["Index Name"]?.GetValue<string>() == "customers_search_keys_idx")
        {
            yield return condition.GetValue<string>();
        }

        foreach (var child in node["Plans"]?.AsArray() ?? [])
        {
            foreach (var found in IndexConditions(child!))
            {
                yield return found;
            }
        }
    }

    private static IEnumerable<string> IndexesOf(JsonNode node)
    {
        if (node["Index Name"] is { } index)
        {
            yield return index.GetValue<string>();
        }

        foreach (var child in node["Plans"]?.AsArray() ?? [])
        {
            foreach (var name in IndexesOf(child!))
            {
                yield return name;
            }
        }
    }

    private static async Task<string> TermKeysAsync(TestDatabase database, Guid tenant, string term)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT customer_search_term_keys($1, $2)::text", connection);
        read.Parameters.Add(new NpgsqlParameter { Value = tenant });
        read.Parameters.Add(new NpgsqlParameter { Value = term });
        return (string)(await read.ExecuteScalarAsync())!;
    }

    private static async Task VacuumAsync(TestDatabase database)
    {
        // As autovacuum leaves it: statistics current and the search index's pending list merged into the index.
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await Execute(connection, "VACUUM (ANALYZE) customers");
    }

    private static async Task InsertCompaniesAsync(TestDatabase database, Guid tenant, int count, string word)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO customers (tenant_id, id, name, company, status, tags, created_at, updated_at, version)
            SELECT $1, gen_random_uuid(), 'Shop ' || g, $2 || ' ' || g, 'lead', '{}', now(), now(), 1
            FROM generate_series(0, $3 - 1) AS g
            """,
            connection);
        insert.Parameters.Add(new NpgsqlParameter { Value = tenant });
        insert.Parameters.Add(new NpgsqlParameter { Value = word });
        insert.Parameters.Add(new NpgsqlParameter { Value = count });
        await insert.ExecuteNonQueryAsync();
    }

    private static string OrderOf(string sort) => sort switch
    {
        "-createdAt" => "created_at DESC, id DESC",
        "createdAt" => "created_at, id",
        "name" => "lower(name), id",
        "-updatedAt" => "updated_at DESC, id DESC",
        _ => throw new ArgumentOutOfRangeException(nameof(sort)),
    };

    /// <summary>The first 51 matches as the superuser reads them, without the function.</summary>
    private static async Task<List<Guid>> TruthAsync(TestDatabase database, Guid tenant, string term, string sort)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand(
            $"SELECT id FROM customers WHERE tenant_id = $1 AND strpos(search_text, $2) > 0 ORDER BY {OrderOf(sort)} LIMIT 51", connection);
        read.Parameters.Add(new NpgsqlParameter { Value = tenant });
        read.Parameters.Add(new NpgsqlParameter { Value = term });
        return await ReadIdsAsync(read);
    }

    private static async Task<List<Guid>> PageIdsAsync(TestDatabase database, Guid tenant, string term, string sort, string? rarePart)
    {
        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, $"SELECT set_config('app.tenant_id', '{tenant}', true)");
        await using var search = new NpgsqlCommand("SELECT id FROM customer_search($1, $2, 51, p_index_term => $3)", connection);
        search.Parameters.Add(new NpgsqlParameter { Value = term });
        search.Parameters.Add(new NpgsqlParameter { Value = sort });
        search.Parameters.Add(new NpgsqlParameter { Value = (object?)rarePart ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        return await ReadIdsAsync(search);
    }

    /// <summary>The first column of every row, as ids.</summary>
    private static async Task<List<Guid>> ReadIdsAsync(NpgsqlCommand command)
    {
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    private static async Task<List<Guid>> SearchTenantsAsync(NpgsqlConnection connection, Guid? tenant, string term)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        if (tenant is not null)
        {
            await Execute(connection, $"SELECT set_config('app.tenant_id', '{tenant}', true)");
        }

        // The function returns no tenant column: which tenant a row is from is read back as the owner would see it.
        await using var search = new NpgsqlCommand("SELECT id FROM customer_search($1, 'createdAt', 201)", connection);
        search.Parameters.Add(new NpgsqlParameter { Value = term });
        var ids = await ReadIdsAsync(search);
        await transaction.RollbackAsync();
        return await TenantsOfAsync(ids);
    }

    private static async Task<List<Guid>> TenantsOfAsync(List<Guid> ids)
    {
        var database = await TestDatabase.SharedAsync();
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT c.tenant_id FROM unnest($1::uuid[]) AS i(id) JOIN customers c ON c.id = i.id", connection);
        read.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray() });
        return await ReadIdsAsync(read);
    }

    private static async Task InsertNamedAsync(TestDatabase database, Guid tenant, params string[] names)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO customers (tenant_id, id, name, status, tags, created_at, updated_at, version)
            SELECT $1, gen_random_uuid(), n, 'lead', '{}', now(), now(), 1 FROM unnest($2::text[]) AS n
            """,
            connection);
        insert.Parameters.Add(new NpgsqlParameter { Value = tenant });
        insert.Parameters.Add(new NpgsqlParameter { Value = names });
        await insert.ExecuteNonQueryAsync();
    }

    private static async Task InsertAsync(TestDatabase database, Guid tenant, int count, string word)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO customers (tenant_id, id, name, email, company, status, tags, created_at, updated_at, version)
            SELECT $1, gen_random_uuid(), $2 || ' customer ' || g, 'c' || g || '@' || $2 || '.test', 'Company ' || g, 'lead', '{}',
                   now() - g * interval '1 second', now() - g * interval '1 second', 1
            FROM generate_series(1, $3) AS g
            """,
            connection);
        insert.Parameters.Add(new NpgsqlParameter { Value = tenant });
        insert.Parameters.Add(new NpgsqlParameter { Value = word });
        insert.Parameters.Add(new NpgsqlParameter { Value = count });
        await insert.ExecuteNonQueryAsync();
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
