using System.Globalization;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;
using Shohayota.Silo.Database;

namespace Shohayota.Api.Web;

/// <summary>
/// The UI's data-protection key ring in PostgreSQL (table <c>ui_data_protection_keys</c>): one ring for every node, so a
/// session cookie or antiforgery token written by one node is read by any other (behind a load balancer), and restarts
/// keep everyone signed in. The runtime role may only read and add keys. Every key is stored encrypted
/// (<see cref="UiKeyEncryptor"/>), and a key that is not (an old plaintext key, or one someone with the runtime role's
/// password wrote to mint cookies) is ignored: the database alone can neither read nor plant a cookie key.
/// </summary>
public sealed class UiKeyRing(NpgsqlDataSource dataSource, ILogger<UiKeyRing> logger) : IXmlRepository
{
    private const string DeserializerType = "Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer";

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        var keys = new List<XElement>();
        foreach (var element in ReadAll(dataSource))
        {
            if (IsTrusted(element))
            {
                keys.Add(element);
            }
            else
            {
                logger.LogWarning(
                    "Security: ignored UI data-protection key {KeyId}: it is not encrypted with the key-encryption key, so it was not written by a node of this cluster",
                    (string?)element.Attribute("id"));
            }
        }

        return keys;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var insert = dataSource.CreateCommand(
            "INSERT INTO ui_data_protection_keys (friendly_name, xml) VALUES ($1, $2) ON CONFLICT (friendly_name) DO NOTHING");
        insert.Parameters.Add(new NpgsqlParameter { Value = friendlyName });
        insert.Parameters.Add(new NpgsqlParameter { Value = element.ToString(SaveOptions.DisableFormatting) });
        insert.ExecuteNonQuery();
    }

    /// <summary>
    /// Refuses to start a node whose key-encryption key cannot read the ring's current keys: it would mint cookies no
    /// other node accepts and add keys they cannot read. The message names both fingerprints, never a key.
    /// </summary>
    public static void EnsureReadable(string connectionString, UiKeyEncryptionKeys keys, DateTimeOffset now)
    {
        using var dataSource = NpgsqlDataSource.Create(connectionString);
        var foreign = ReadAll(dataSource)
            .Where(e => e.Name.LocalName == "key" && IsTrusted(e))
            .Where(e => !DateTimeOffset.TryParse((string?)e.Element("expirationDate"), CultureInfo.InvariantCulture, DateTimeStyles.None, out var expires) || expires > now)
            .SelectMany(e => e.Descendants(UiKeyEncryptor.ElementName).Select(s => (string?)s.Attribute("keyEncryptionKey") ?? ""))
            .Where(id => !keys.KnownIds.Contains(id))
            .Distinct()
            .ToList();
        if (foreign.Count > 0)
        {
            throw new DatabaseSetupException(
                $"The web UI's key ring in the database is encrypted with key-encryption key {string.Join(", ", foreign)}, but this node's " +
                $"{UiKeyEncryptionKeys.ConfigurationKey} is {keys.CurrentId}. Give every node the same key (scripts/add-node.sh passes node 1's " +
                $"ui-key-encryption.key); after a rotation list the old key in {UiKeyEncryptionKeys.RetiredConfigurationKey}.");
        }
    }

    /// <summary>A revocation, or a key whose secret is only inside encrypted elements this node's decryptor wrote.</summary>
    internal static bool IsTrusted(XElement element)
    {
        if (element.Name.LocalName == "revocation")
        {
            return true;
        }

        if (element.Name.LocalName != "key" || element.Element("descriptor") is not { } descriptor ||
            !((string?)descriptor.Attribute("deserializerType") ?? "").StartsWith(DeserializerType + ",", StringComparison.Ordinal))
        {
            return false;
        }

        var secrets = element.Descendants().Where(e => e.Name.LocalName == "encryptedSecret").ToList();
        var decryptor = typeof(UiKeyDecryptor).FullName + ",";
        if (secrets.Count == 0 || secrets.Any(s => !((string?)s.Attribute("decryptorType") ?? "").StartsWith(decryptor, StringComparison.Ordinal)))
        {
            return false;
        }

        // Outside the encrypted parts nothing may carry key material.
        var outside = element.DescendantsAndSelf().Where(e => !e.Ancestors().Any(secrets.Contains) && !secrets.Contains(e)).ToList();
        return !outside.Any(e => e.Name.LocalName == "masterKey" || e.Attributes().Any(a => a.Name.LocalName == "requiresEncryption"));
    }

    private static List<XElement> ReadAll(NpgsqlDataSource dataSource)
    {
        using var select = dataSource.CreateCommand("SELECT xml FROM ui_data_protection_keys ORDER BY created_at");
        using var reader = select.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read())
        {
            elements.Add(XElement.Parse(reader.GetString(0)));
        }

        return elements;
    }
}
