using System.Collections.Concurrent;
using System.Net;
using System.Xml.Linq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Api.Web;
using Shohayota.Silo.Database;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Web;

/// <summary>
/// The UI's key ring lives in the database: a cookie one node issued is honoured by every other node. It is encrypted with
/// a key that is not in the database: reading the table gives no cookie key, and a key written into it is not trusted.
/// </summary>
public sealed class UiKeyRingTests
{
    [Fact]
    public async Task ASessionCookieFromOneNodeSignsTheBrowserInOnAnotherNodeOfTheSameDatabase()
    {
        var first = await ApiHost.SharedAsync();
        // Its own data directory: nothing on disk is shared with the first node, only the database.
        var directory = Directory.CreateDirectory(Path.Combine(first.Database.Directory, $"second-node-{Guid.NewGuid():N}")).FullName;
        await using var second = await ApiHost.StartAsync(first.Database, settings: [$"--Shohayota:DataDirectory={directory}"]);
        var tenant = await first.ProvisionTenantAsync();
        using var browser = new BrowserSession(first.Client.BaseAddress!);
        using (var signedIn = await browser.SignInAsync(tenant.AdminEmail, tenant.AdminPassword))
        {
            signedIn.StatusCode.Should().Be(HttpStatusCode.Found);
        }

        var cookie = browser.Cookies.GetCookies(first.Client.BaseAddress!)["shohayota.session"];
        cookie.Should().NotBeNull("the sign-in sets the session cookie");
        using var elsewhere = new BrowserSession(second.Client.BaseAddress!);
        elsewhere.Cookies.Add(second.Client.BaseAddress!, new Cookie(cookie!.Name, cookie.Value));

        using var home = await elsewhere.Client.GetAsync("/");
        home.StatusCode.Should().Be(HttpStatusCode.Redirect);
        new Uri(second.Client.BaseAddress!, home.Headers.Location!).AbsolutePath.Should().Be("/customers", "the other node read the cookie and knows the user's role");

        using var stranger = new BrowserSession(second.Client.BaseAddress!);
        using var anonymous = await stranger.Client.GetAsync("/");
        anonymous.Headers.Location!.OriginalString.Should().Contain("/login", "without the cookie the same page asks for sign-in");
    }

    [Fact]
    public async Task TheStoredKeysCarryNoPlainKeyMaterialAndNoWarningIsLoggedWritingTheFirst()
    {
        await using var database = await TestDatabase.StartAsync();
        var logs = new CapturingLoggerProvider();
        await using var host = await ApiHost.StartAsync(database, services: s => s.AddSingleton<ILoggerProvider>(logs));
        var tenant = await host.ProvisionTenantAsync();
        using var browser = new BrowserSession(host.Client.BaseAddress!);

        using (var signedIn = await browser.SignInAsync(tenant.AdminEmail, tenant.AdminPassword))
        {
            signedIn.StatusCode.Should().Be(HttpStatusCode.Found);
        }

        var keys = (await StoredKeysAsync(database)).Where(k => k.Name.LocalName == "key").ToList();
        keys.Should().NotBeEmpty("the sign-in needed a key");
        keys.Should().AllSatisfy(k =>
        {
            k.Descendants().Should().NotContain(e => e.Name.LocalName == "masterKey", "the master key is only inside the encrypted part");
            k.Descendants().Should().Contain(e => e.Name.LocalName == "encryptedSecret");
            k.Descendants(UiKeyEncryptor.ElementName).Single().Attribute("keyEncryptionKey")!.Value.Should().NotBeEmpty();
        });
        logs.Entries.Should().NotContain(e => e.Level >= LogLevel.Warning && e.Category.StartsWith("Microsoft.AspNetCore.DataProtection", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ANodeWithAnotherKeyEncryptionKeyRefusesToStartNamingBothFingerprints()
    {
        var first = await ApiHost.SharedAsync();
        var tenant = await first.ProvisionTenantAsync();
        using (var browser = new BrowserSession(first.Client.BaseAddress!))
        using (var signedIn = await browser.SignInAsync(tenant.AdminEmail, tenant.AdminPassword))
        {
            signedIn.StatusCode.Should().Be(HttpStatusCode.Found, "a key is in the ring");
        }

        var directory = Directory.CreateDirectory(Path.Combine(first.Database.Directory, $"stranger-{Guid.NewGuid():N}")).FullName;
        var otherKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(48));

        var start = async () => await ApiHost.StartAsync(first.Database, settings: [$"--Shohayota:DataDirectory={directory}", $"--Shohayota:Ui:KeyEncryptionKey={otherKey}"]);

        var refusal = (await start.Should().ThrowAsync<DatabaseSetupException>()).Which.Message;
        refusal.Should().Contain("Shohayota:Ui:KeyEncryptionKey").And.Contain(Fingerprint(ApiHost.KeyEncryptionKey)).And.Contain(Fingerprint(otherKey));
        refusal.Should().NotContain(otherKey).And.NotContain(ApiHost.KeyEncryptionKey);
    }

    [Fact]
    public async Task KeysWrittenIntoTheTableWithoutTheKeyEncryptionKeyAreIgnored()
    {
        await using var database = await TestDatabase.StartAsync();
        await using var host = await ApiHost.StartAsync(database);
        var tenant = await host.ProvisionTenantAsync();
        using (var browser = new BrowserSession(host.Client.BaseAddress!))
        using (var signedIn = await browser.SignInAsync(tenant.AdminEmail, tenant.AdminPassword))
        {
            signedIn.StatusCode.Should().Be(HttpStatusCode.Found);
        }

        var genuine = (await StoredKeysAsync(database)).Single();
        var plain = ForgedKey(genuine, secret => new XElement("masterKey", new XAttribute(XName.Get("requiresEncryption", "http://schemas.asp.net/2015/03/dataProtection"), "true"), new XElement("value", Convert.ToBase64String(new byte[64]))));
        var nullDecryptor = ForgedKey(genuine, secret =>
        {
            secret.SetAttributeValue("decryptorType", "Microsoft.AspNetCore.DataProtection.XmlEncryption.NullXmlDecryptor, Microsoft.AspNetCore.DataProtection");
            secret.ReplaceNodes(new XElement("unencryptedKey", new XElement("value", Convert.ToBase64String(new byte[64]))));
            return secret;
        });
        await using var dataSource = NpgsqlDataSource.Create(database.AppConnectionString);
        var ring = new UiKeyRing(dataSource, NullLogger<UiKeyRing>.Instance);
        ring.StoreElement(plain, "forged-plain");
        ring.StoreElement(nullDecryptor, "forged-null");

        var trusted = ring.GetAllElements();

        trusted.Select(k => (string?)k.Attribute("id")).Should().Equal((string?)genuine.Attribute("id"));
    }

    [Fact]
    public async Task TheRuntimeRoleMayReadAndAddKeysButNotChangeOrRemoveThem()
    {
        var host = await ApiHost.SharedAsync();
        await using var connection = new NpgsqlConnection(host.Database.AppConnectionString);
        await connection.OpenAsync();
        foreach (var statement in new[] { "UPDATE ui_data_protection_keys SET xml = xml", "DELETE FROM ui_data_protection_keys" })
        {
            await using var command = new NpgsqlCommand(statement, connection);
            var refused = async () => await command.ExecuteNonQueryAsync();
            (await refused.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.InsufficientPrivilege);
        }
    }

    private static string Fingerprint(string base64Key) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
        System.Security.Cryptography.HKDF.DeriveKey(System.Security.Cryptography.HashAlgorithmName.SHA256, Convert.FromBase64String(base64Key), 32, info: "shohayota ui key ring"u8.ToArray())))[..16];

    private static async Task<List<XElement>> StoredKeysAsync(TestDatabase database)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand("SELECT xml FROM ui_data_protection_keys", connection);
        await using var reader = await select.ExecuteReaderAsync();
        var keys = new List<XElement>();
        while (await reader.ReadAsync())
        {
            keys.Add(XElement.Parse(reader.GetString(0)));
        }

        return keys;
    }

    /// <summary>A copy of a genuine key with a new id, a later activation, and its encrypted secret replaced.</summary>
    private static XElement ForgedKey(XElement genuine, Func<XElement, XElement> replaceSecret)
    {
        var forged = new XElement(genuine);
        forged.SetAttributeValue("id", Guid.NewGuid().ToString());
        var secret = forged.Descendants().Single(e => e.Name.LocalName == "encryptedSecret");
        secret.ReplaceWith(replaceSecret(new XElement(secret)));
        return forged;
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                provider.Entries.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }
}
