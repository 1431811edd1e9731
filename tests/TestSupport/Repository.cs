namespace Shohayota.TestSupport;

/// <summary>The checkout the tests were built from: its scripts, its docs and its deploy files.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Shohayota.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Shohayota.sln above {AppContext.BaseDirectory}: run the tests from the repository's build output.");
    }
}
