using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;

namespace Shohayota.Api.Web;

/// <summary>
/// The UI's data-protection key ring in PostgreSQL (table <c>ui_data_protection_keys</c>): one ring for every node, so a
/// session cookie or antiforgery token written by one node is read by any other (behind a load balancer), and restarts
/// keep everyone signed in. The runtime role may only read and add keys.
/// </summary>
public sealed class UiKeyRing(NpgsqlDataSource dataSource) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var select = dataSource.CreateCommand("SELECT xml FROM ui_data_protection_keys ORDER BY created_at");
        using var reader = select.ExecuteReader();
        var keys = new List<XElement>();
        while (reader.Read())
        {
            keys.Add(XElement.Parse(reader.GetString(0)));
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
}
