using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Shohayota.Grains.Hosting;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Users;
using Shohayota.Grains.Security;

namespace Shohayota.Silo.Hosting;

/// <summary>
/// Makes sure a super-admin exists: the configured one (Shohayota:Bootstrap), or else one with a generated
/// password that is printed once and kept owner-only under the data directory.
/// </summary>
internal sealed class SuperAdminBootstrap(
    IGrainFactory grains,
    NpgsqlDataSource dataSource,
    IConfiguration configuration,
    CallerSigner signer,
    ILogger<SuperAdminBootstrap> logger) : IHostedService
{
    public const string DefaultEmail = "admin@shohayota.local";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using (var exists = dataSource.CreateCommand("SELECT auth_super_admin_exists()"))
        {
            if (await exists.ExecuteScalarAsync(cancellationToken) is true)
            {
                return;
            }
        }

        var email = configuration["Shohayota:Bootstrap:SuperAdminEmail"];
        var password = configuration["Shohayota:Bootstrap:SuperAdminPassword"];
        var generated = string.IsNullOrEmpty(password);
        if (generated)
        {
            password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', '-').Replace('/', '_');
        }

        email = string.IsNullOrWhiteSpace(email) ? DefaultEmail : email;
        signer.EnterSystem();
        var user = grains.GetGrain<IUserGrain>(GrainKeys.User(GrainKeys.SystemTenant, Guid.NewGuid()));
        var outcome = await user.CreateAsync(new CreateUserRequest(email, "Super Admin", password!, Roles.SuperAdmin));
        if (!outcome.Succeeded)
        {
            // Another node may have bootstrapped at the same moment.
            logger.LogWarning("Super-admin bootstrap did not create {Email}: {Detail}", email, outcome.Detail);
            return;
        }

        if (generated)
        {
            var file = DataDirectory.WriteOwnerOnly(configuration, "superadmin.txt", $"email={email}\npassword={password}\n");
            logger.LogInformation("Created super-admin {Email}; its generated password is in {PasswordFile}", email, file);

            // Printed once, on purpose, to the console only (not to the log pipeline).
            await Console.Out.WriteLineAsync(
                $"\n  Created super-admin {email} with password {password}\n  (also saved, owner-only, in {file})\n");
        }
        else
        {
            logger.LogInformation("Created the configured super-admin {Email}", email);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
