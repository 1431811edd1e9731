using Microsoft.Extensions.Configuration;
using Shohayota.Grains.Hosting;

namespace Shohayota.Grains.Tests.Hosting;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WorkingDirectoryCollection
{
    public const string Name = "changes the working directory";
}

/// <summary>One data directory whatever the working directory: relative paths are relative to the repository root.</summary>
[Collection(WorkingDirectoryCollection.Name)]
public sealed class DataDirectoryTests
{
    [Theory]
    [InlineData(null, ".data")]
    [InlineData("", ".data")]
    [InlineData(".data/node2", ".data/node2")]
    public void ARelativeDataDirectoryIsBelowTheRepositoryRootWhateverTheWorkingDirectory(string? configured, string expected)
    {
        var configuration = Configuration(configured);
        var elsewhere = Directory.CreateTempSubdirectory("shohayota-cwd-");
        var before = Directory.GetCurrentDirectory();

        string resolved;
        try
        {
            Directory.SetCurrentDirectory(elsewhere.FullName);
            resolved = DataDirectory.Resolve(configuration);
        }
        finally
        {
            Directory.SetCurrentDirectory(before);
            elsewhere.Delete();
        }

        resolved.Should().Be(Path.Combine(RepositoryRoot(), expected));
        DataDirectory.Base.Should().Be(RepositoryRoot());
    }

    [Fact]
    public void AnAbsoluteDataDirectoryIsTakenAsItIs()
    {
        var absolute = Path.Combine(Path.GetTempPath(), "shohayota-absolute", "data");

        var resolved = DataDirectory.Resolve(Configuration(absolute));

        resolved.Should().Be(absolute);
    }

    private static IConfiguration Configuration(string? dataDirectory) => new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { [DataDirectory.ConfigurationKey] = dataDirectory })
        .Build();

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Shohayota.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Shohayota.sln not found above " + AppContext.BaseDirectory);
    }
}
