using System.Globalization;

namespace Shohayota.Load;

/// <summary><c>--name value</c> pairs. bench/run.sh passes every value explicitly, so defaults live in one place: the script.</summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        var parsed = new CommandLine();
        for (var i = 0; i < args.Count; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Count)
            {
                throw new ArgumentException($"Expected '--name value' pairs, got '{args[i]}'.");
            }

            parsed._values[args[i][2..]] = args[i + 1];
        }

        return parsed;
    }

    public string Get(string name) =>
        _values.TryGetValue(name, out var value) ? value : throw new ArgumentException($"--{name} is required.");

    public string? Find(string name) => _values.TryGetValue(name, out var value) && value.Length > 0 ? value : null;

    public int GetInt(string name) => int.Parse(Get(name), CultureInfo.InvariantCulture);

    public int GetInt(string name, int fallback) => Find(name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;
}
