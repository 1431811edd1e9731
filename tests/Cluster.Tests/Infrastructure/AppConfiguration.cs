using System.Reflection;
using System.Text.RegularExpressions;
using Shohayota.Api.Hosting;
using Shohayota.Grains;
using Shohayota.Silo;
using Shohayota.Silo.Database;
using Shohayota.TestSupport;

namespace Shohayota.Cluster.Tests.Infrastructure;

/// <summary>
/// The configuration keys the app reads, collected from what reads them: the options classes (a <c>SectionName</c> and
/// their settable properties), the keys the source reads by name (<c>configuration["Shohayota:…"]</c>, and names read
/// inside a <c>GetSection("…")</c>), the connection string names, and the host's own keys. <c>*</c> stands for any one
/// segment (a plan's name), a trailing <c>**</c> for any rest.
/// </summary>
public static partial class AppConfiguration
{
    private static readonly Lazy<IReadOnlyList<string>> Collected = new(Collect);

    public static IReadOnlyList<string> Patterns => Collected.Value;

    public static bool Reads(string key) => Patterns.Any(p => Matches(p, key));

    /// <summary>What an environment variable sets: <c>__</c> is <c>:</c>; the host strips <c>ASPNETCORE_</c> and <c>DOTNET_</c>.</summary>
    public static string KeyOf(string variable)
    {
        foreach (var prefix in new[] { "ASPNETCORE_", "DOTNET_" })
        {
            if (variable.StartsWith(prefix, StringComparison.Ordinal))
            {
                variable = variable[prefix.Length..];
            }
        }

        return variable.Replace("__", ":", StringComparison.Ordinal);
    }

    public static bool Matches(string pattern, string key)
    {
        var expected = pattern.Split(':');
        var actual = key.Split(':');
        if (expected[^1] == "**")
        {
            return actual.Length >= expected.Length - 1 && expected[..^1].Zip(actual).All(p => Segment(p.First, p.Second));
        }

        return expected.Length == actual.Length && expected.Zip(actual).All(p => Segment(p.First, p.Second));
    }

    public static string RepositoryRoot() => Repository.Root;

    private static bool Segment(string pattern, string actual) => pattern == "*" || string.Equals(pattern, actual, StringComparison.OrdinalIgnoreCase);

    private static List<string> Collect()
    {
        // The host's keys (WebApplication reads urls; the logging providers read Logging:…).
        var keys = new List<string> { "Urls", "AllowedHosts", "Environment", "Logging:**" };
        keys.Add($"ConnectionStrings:{DatabaseSetup.ConnectionStringName}");
        keys.Add($"ConnectionStrings:{DatabaseSetup.AdminConnectionStringName}");
        foreach (var assembly in new[] { typeof(ShohayotaApp).Assembly, typeof(SiloExtensions).Assembly, typeof(GrainsExtensions).Assembly })
        {
            foreach (var type in assembly.GetTypes())
            {
                if (type.GetField("SectionName", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } field &&
                    field.GetRawConstantValue() is string section)
                {
                    keys.AddRange(OptionKeys(type, section));
                }
            }
        }

        var source = Path.Combine(RepositoryRoot(), "src");
        foreach (var file in Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                                 && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            var text = File.ReadAllText(file);
            keys.AddRange(FullKey().Matches(text).Select(m => m.Groups[1].Value));
            var relative = RelativeName().Matches(text).Select(m => m.Groups[1].Value).ToList();
            foreach (var section in SectionRead().Matches(text).Select(m => m.Groups[1].Value))
            {
                keys.AddRange(relative.Select(name => $"{section}:{name}"));
            }
        }

        return keys.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }

    private static IEnumerable<string> OptionKeys(Type type, string section)
    {
        var dictionary = type.BaseType is { IsGenericType: true } b && b.GetGenericTypeDefinition() == typeof(Dictionary<,>) ? b.GetGenericArguments()[1] : null;
        return dictionary is not null
            ? Settable(dictionary).Select(p => $"{section}:*:{p}")
            : Settable(type).Select(p => $"{section}:{p}");
    }

    private static IEnumerable<string> Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.GetIndexParameters().Length == 0).Select(p => p.Name);

    [GeneratedRegex("\"(Shohayota:[A-Za-z0-9:]+)\"")]
    private static partial Regex FullKey();

    [GeneratedRegex("GetSection\\(\"([A-Za-z0-9:]+)\"\\)")]
    private static partial Regex SectionRead();

    [GeneratedRegex("(?:GetValue(?:<[\\w?]+>)?\\(|\\[)\"([A-Za-z0-9]+)\"")]
    private static partial Regex RelativeName();
}
