using Npgsql;

namespace Shohayota.Grains.Database;

/// <summary>
/// Opens transactions scoped to one tenant: every transaction sets <c>app.tenant_id</c> transaction-locally,
/// so row-level security admits that tenant's rows only, and the setting dies with the transaction (pool-safe).
/// </summary>
public sealed class TenantDatabase(NpgsqlDataSource dataSource)
{
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
