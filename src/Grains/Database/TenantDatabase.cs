using System.Globalization;
using Npgsql;

namespace Shohayota.Grains.Database;

/// <summary>
/// Opens transactions scoped to one tenant: every transaction sets <c>app.tenant_id</c> transaction-locally,
/// so row-level security admits that tenant's rows only, and the setting dies with the transaction (pool-safe).
/// </summary>
public sealed class TenantDatabase(NpgsqlDataSource dataSource)
{
    /// <summary>The service key of the searches' <see cref="TenantDatabase"/> and data source (<see cref="GrainsExtensions.SearchDataSource"/>).</summary>
    public const string Searches = "searches";

    public NpgsqlDataSource DataSource => dataSource;

    public async Task<TenantTransaction> BeginAsync(Guid tenantId, CancellationToken cancellationToken = default)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var set = new NpgsqlCommand("SELECT set_config('app.tenant_id', $1, true)", connection, transaction))
            {
                set.Parameters.Add(new NpgsqlParameter { Value = tenantId.ToString("D") });
                await set.ExecuteNonQueryAsync(cancellationToken);
            }

            return new TenantTransaction(connection, transaction);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A read of one statement under the tenant's row-level security in one round trip: the tenant setting, any
    /// <paramref name="settings"/> (e.g. <c>statement_timeout</c>) and the statement go as one batch, which PostgreSQL
    /// runs as one implicit transaction (one Sync), so the transaction-local settings apply to the statement and end
    /// with it — no BEGIN, COMMIT or ROLLBACK round trips (a list page was three round trips before). The reader given
    /// to <paramref name="read"/> is on the statement's result.
    /// </summary>
    public Task<T> ReadAsync<T>(
        Guid tenantId, NpgsqlBatchCommand statement, Func<NpgsqlDataReader, Task<T>> read,
        IReadOnlyList<KeyValuePair<string, string>>? settings = null, CancellationToken cancellationToken = default) =>
        ReadAsync(tenantId, [statement], read, settings, cancellationToken);

    /// <summary>
    /// Several reads in the same one round trip and implicit transaction (one snapshot): the reader given to
    /// <paramref name="read"/> is on the first statement's result; <c>NextResultAsync</c> moves to the next.
    /// </summary>
    public async Task<T> ReadAsync<T>(
        Guid tenantId, IReadOnlyList<NpgsqlBatchCommand> statements, Func<NpgsqlDataReader, Task<T>> read,
        IReadOnlyList<KeyValuePair<string, string>>? settings = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = TenantBatch(connection, tenantId, settings, statements);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        // Past the settings' result.
        await reader.NextResultAsync(cancellationToken);

        return await read(reader);
    }

    /// <summary>
    /// Writes in one round trip: the tenant setting and <paramref name="statements"/> as one batch, which PostgreSQL
    /// runs as one implicit transaction (one Sync): all of them commit, or none (the first error rolls back the rest and
    /// is thrown). For writes that need no answer between their statements.
    /// </summary>
    public async Task WriteAsync(Guid tenantId, IReadOnlyList<NpgsqlBatchCommand> statements, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = TenantBatch(connection, tenantId, null, statements);
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Most writes one grouped commit carries (a bound on the batch's size and on how long its members wait).</summary>
    internal const int MaxGroup = 256;

    private readonly Lock _group = new();
    private readonly List<GroupedWrite> _queued = [];
    private bool _draining;
    private long _groupCommits;
    private long _groupFallbacks;

    /// <summary>Grouped commits that carried two or more tenants' writes (for tests and diagnostics).</summary>
    internal long GroupCommits => Interlocked.Read(ref _groupCommits);

    /// <summary>Groups that failed as a whole on a statement and were written again tenant by tenant.</summary>
    internal long GroupFallbacks => Interlocked.Read(ref _groupFallbacks);

    /// <summary>
    /// <see cref="WriteAsync"/> for frequent small writes of many tenants (the meters' usage flushes): writes queued while
    /// one is in flight go together as the next batch, one implicit transaction and one commit for all of them (10,000
    /// active tenants flush about 2,000 times a second, and a commit each was most of their cost and of PostgreSQL's
    /// tail latency). Each tenant's statements run after their own tenant setting, so row-level security admits that
    /// tenant's rows only, statement by statement. When a statement fails, the group is written again tenant by tenant,
    /// so one tenant's error fails only that tenant's write; a connection failure fails every member. A lone write goes
    /// at once: the group only forms under load. <paramref name="statements"/> builds the statements (called again for
    /// the tenant-by-tenant retry, as a batch's commands are not reused).
    /// </summary>
    public Task WriteGroupedAsync(Guid tenantId, Func<IReadOnlyList<NpgsqlBatchCommand>> statements)
    {
        var write = new GroupedWrite(tenantId, statements, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        bool lead;
        lock (_group)
        {
            _queued.Add(write);
            lead = !_draining;
            _draining = true;
        }

        if (lead)
        {
            // On the thread pool, not on the calling grain's scheduler: the loop serves every tenant's writes.
            _ = Task.Run(DrainAsync);
        }

        return write.Done.Task;
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            List<GroupedWrite> group;
            lock (_group)
            {
                if (_queued.Count == 0)
                {
                    _draining = false;
                    return;
                }

                var take = Math.Min(_queued.Count, MaxGroup);
                group = _queued.GetRange(0, take);
                _queued.RemoveRange(0, take);
            }

            await WriteGroupAsync(group);
        }
    }

    private async Task WriteGroupAsync(List<GroupedWrite> group)
    {
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var batch = new NpgsqlBatch(connection);
            foreach (var write in group)
            {
                AddTenant(batch, write.TenantId, null, write.Statements());
            }

            await batch.ExecuteNonQueryAsync();
            if (group.Count > 1)
            {
                Interlocked.Increment(ref _groupCommits);
            }

            foreach (var write in group)
            {
                write.Done.TrySetResult();
            }

            return;
        }
        catch (PostgresException) when (group.Count > 1)
        {
            // A statement failed and rolled the whole group back: find whose, by writing each tenant on its own below.
            Interlocked.Increment(ref _groupFallbacks);
        }
        catch (Exception e)
        {
            foreach (var write in group)
            {
                write.Done.TrySetException(e);
            }

            return;
        }

        foreach (var write in group)
        {
            try
            {
                await WriteAsync(write.TenantId, write.Statements());
                write.Done.TrySetResult();
            }
            catch (Exception e)
            {
                write.Done.TrySetException(e);
            }
        }
    }

    private sealed record GroupedWrite(Guid TenantId, Func<IReadOnlyList<NpgsqlBatchCommand>> Statements, TaskCompletionSource Done);

    /// <summary>
    /// The tenant setting, then <paramref name="settings"/>, then <paramref name="statements"/>, as one batch: one round
    /// trip, one implicit transaction.
    /// </summary>
    private static NpgsqlBatch TenantBatch(
        NpgsqlConnection connection, Guid tenantId, IReadOnlyList<KeyValuePair<string, string>>? settings, IReadOnlyList<NpgsqlBatchCommand> statements)
    {
        var batch = new NpgsqlBatch(connection);
        AddTenant(batch, tenantId, settings, statements);
        return batch;
    }

    /// <summary>
    /// Appends one tenant's part of a batch: one statement setting its tenant and <paramref name="settings"/>, then its
    /// statements (which run under that tenant until the next part's setting).
    /// </summary>
    private static void AddTenant(
        NpgsqlBatch batch, Guid tenantId, IReadOnlyList<KeyValuePair<string, string>>? settings, IReadOnlyList<NpgsqlBatchCommand> statements)
    {
        batch.BatchCommands.Add(Settings(tenantId, settings));
        foreach (var statement in statements)
        {
            batch.BatchCommands.Add(statement);
        }
    }

    /// <summary>A statement for <see cref="ReadAsync{T}(Guid, IReadOnlyList{NpgsqlBatchCommand}, Func{NpgsqlDataReader, Task{T}}, IReadOnlyList{KeyValuePair{string, string}}?, CancellationToken)"/>, with positional parameters.</summary>
    public static NpgsqlBatchCommand Statement(string sql, params object?[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter ?? DBNull.Value });
        }

        return command;
    }

    /// <summary>
    /// The settings of a generic plan (<c>plan_cache_mode</c>), for a statement whose plan is the same whatever its
    /// parameters (a page that walks its sort's index: <see cref="Records.KeysetQuery"/>). Npgsql prepares a statement
    /// used often; PostgreSQL then plans it again on every execution as long as a plan for these values looks cheaper
    /// than the generic one, and for a small list page that planning cost more than running the page. The generic plan
    /// is made once, from the table's average tenant, and then serves every tenant: where that average is a few rows, a
    /// bitmap scan of the tenant's rows and a sort looked cheapest (as it did for a later page of customers by name in
    /// the test database), which for a tenant of 100,000 rows would read and sort them all. Sorts are therefore off for
    /// these statements (<c>enable_sort</c>, <c>enable_incremental_sort</c>): the plan left is the walk of the sort's index.
    /// </summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string>> GenericPlan =
        [new("plan_cache_mode", "force_generic_plan"), new("enable_sort", "off"), new("enable_incremental_sort", "off")];

    /// <summary>
    /// The tenant setting and <paramref name="settings"/> in one statement, each transaction-local (<c>set_config(…, true)</c>):
    /// they end with the batch's implicit transaction.
    /// </summary>
    private static NpgsqlBatchCommand Settings(Guid tenantId, IReadOnlyList<KeyValuePair<string, string>>? settings)
    {
        var count = 1 + (settings?.Count ?? 0);
        var command = new NpgsqlBatchCommand(count <= SettingsSql.Length ? SettingsSql[count - 1] : SetConfigs(count));
        Add("app.tenant_id", tenantId.ToString("D"));
        foreach (var (name, value) in settings ?? [])
        {
            Add(name, value);
        }

        return command;

        void Add(string name, string value)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = value });
        }
    }

    /// <summary>The settings statements of one to four settings, built once (every read and write sends one).</summary>
    private static readonly string[] SettingsSql = [SetConfigs(1), SetConfigs(2), SetConfigs(3), SetConfigs(4)];

    /// <summary><c>SELECT set_config($1, $2, true), set_config($3, $4, true), …</c> for <paramref name="count"/> settings.</summary>
    private static string SetConfigs(int count) =>
        "SELECT " + string.Join(", ", Enumerable.Range(0, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"set_config(${2 * i + 1}, ${2 * i + 2}, true)")));

    /// <summary>Runs <paramref name="work"/> in a tenant transaction and commits it.</summary>
    public async Task<T> InTransactionAsync<T>(Guid tenantId, Func<TenantTransaction, Task<T>> work, CancellationToken cancellationToken = default)
    {
        await using var transaction = await BeginAsync(tenantId, cancellationToken);
        var result = await work(transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }
}

public sealed class TenantTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
{
    private bool _disposed;

    public NpgsqlConnection Connection => connection;

    public NpgsqlCommand Command(string sql, params object?[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter ?? DBNull.Value });
        }

        return command;
    }

    public async Task<int> ExecuteAsync(string sql, params object?[] parameters)
    {
        await using var command = Command(sql, parameters);
        return await command.ExecuteNonQueryAsync();
    }

    public Task CommitAsync(CancellationToken cancellationToken = default) => transaction.CommitAsync(cancellationToken);

    /// <summary>
    /// Once only: Npgsql reuses a pooled connector's transaction object, so a second dispose after the connection went back
    /// to the pool would roll back whichever transaction took that connector next (another grain's).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await transaction.DisposeAsync();
        await connection.DisposeAsync();
    }
}

public static class PostgresErrors
{
    /// <summary>Text matched literally inside a LIKE pattern (PostgreSQL's default escape character is a backslash).</summary>
    public static string EscapeLike(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    public static bool IsUniqueViolation(this PostgresException exception, string constraint) =>
        exception.SqlState == PostgresErrorCodes.UniqueViolation && exception.ConstraintName == constraint;
}
