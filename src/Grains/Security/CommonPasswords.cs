using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;

namespace Shohayota.Grains.Security;

/// <summary>
/// The most common passwords (zxcvbn's ranked list, top <see cref="Count"/>), compared case-insensitively. The list is
/// read as data out of the zxcvbn-core assembly the build embeds (see Grains.csproj): no code of that package runs.
/// </summary>
public static class CommonPasswords
{
    public const int Count = 10_000;
    private const string EmbeddedAssembly = "Shohayota.Grains.Security.zxcvbn-core.dll";
    private const string ListResource = "zxcvbn-core.Dictionaries.passwords.lst";

    private static readonly Lazy<HashSet<string>> List = new(Load);

    public static bool Contains(string password) => List.Value.Contains(password);

    /// <summary>How many passwords the list holds (at most <see cref="Count"/>).</summary>
    public static int Loaded => List.Value.Count;

    private static HashSet<string> Load()
    {
        using var stream = typeof(CommonPasswords).Assembly.GetManifestResourceStream(EmbeddedAssembly)
            ?? throw new InvalidOperationException($"The build did not embed {EmbeddedAssembly}.");
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            if (!metadata.StringComparer.Equals(resource.Name, ListResource))
            {
                continue;
            }

            // A managed resource is a 4-byte length and the bytes, at its offset in the CLI header's resources block.
            var block = pe.GetSectionData(pe.PEHeaders.CorHeader!.ResourcesDirectory.RelativeVirtualAddress);
            var reader = block.GetReader(checked((int)resource.Offset), block.Length - checked((int)resource.Offset));
            var text = Encoding.UTF8.GetString(reader.ReadBytes(reader.ReadInt32()));
            var passwords = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).Take(Count))
            {
                passwords.Add(line);
            }

            return passwords;
        }

        throw new InvalidOperationException($"{EmbeddedAssembly} has no {ListResource}.");
    }
}
