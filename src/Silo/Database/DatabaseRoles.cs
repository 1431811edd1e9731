using Npgsql;

namespace Shohayota.Silo.Database;

/// <summary>
/// The two roles of a Shohayota database: the owner runs migrations and owns every object; the runtime role
/// owns nothing, cannot bypass row-level security, and gets only the grants the scripts give it.
/// </summary>
public static class DatabaseRoles
{
    public const string Owner = "shohayota_owner";
    public const string App = "shohayota_app";

    /// <summary>Creates (or re-passwords) both roles and the database; needs a superuser connection.</summary>
    public static async Task EnsureAsync(NpgsqlConnection superuser, string database, string ownerPassword, string appPassword, CancellationToken cancellationToken)
    {
        // The owner bypasses RLS so the few SECURITY DEFINER functions (sign-in lookup by e-mail) can cross tenants;
        // the runtime role never can.
        await ExecuteAsync(superuser, $"""
            DO $roles$
            BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{Owner}') THEN
                CREATE ROLE {Owner} LOGIN BYPASSRLS;
              END IF;
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{App}') THEN
                CREATE ROLE {App} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
              END IF;
            END
            $roles$;
            ALTER ROLE {Owner} PASSWORD '{ownerPassword}';
            ALTER ROLE {App} PASSWORD '{appPassword}';
            """, cancellationToken);

        await using (var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", superuser))
        {
            exists.Parameters.Add(new NpgsqlParameter { Value = database });
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                await ExecuteAsync(superuser, $"CREATE DATABASE \"{database}\" OWNER {Owner} ENCODING 'UTF8'", cancellationToken);
            }
        }

        await ExecuteAsync(superuser, $"""
            REVOKE ALL ON DATABASE "{database}" FROM PUBLIC;
            GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO {App};
            """, cancellationToken);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
