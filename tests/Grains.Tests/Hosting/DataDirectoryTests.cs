using Microsoft.Extensions.Configuration;
using Shohayota.Grains.Hosting;
using Shohayota.TestSupport;

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

        resolved.Should().Be(Path.Combine(Repository.Root, expected));
        DataDirectory.Base.Should().Be(Repository.Root);
    }

    [Fact]
    public void AnAbsoluteDataDirectoryIsTakenAsItIs()
    {
        var absolute = Path.Combine(Path.GetTempPath(), "shohayota-absolute", "data");

        var resolved = DataDirectory.Resolve(Configuration(absolute));

        resolved.Should().Be(absolute);
    }

    [Fact]
    public void HostsStartingTogetherInOneDataDirectoryEndWithOneOwnerOnlyKey()
    {
        var directory = Directory.CreateTempSubdirectory("shohayota-secret-");
        try
        {
            var configuration = Configuration(directory.FullName);
            for (var round = 0; round < 20; round++)
            {
                var name = $"race-{round}.key";
                // Real threads released together (the thread pool would start them one after another on 2 cores).
                var keys = new string?[8];
                var errors = new List<Exception>();
                using var barrier = new Barrier(keys.Length);
                var threads = Enumerable.Range(0, keys.Length).Select(i => new Thread(() =>
                {
                    barrier.SignalAndWait();
                    try
                    {
                        keys[i] = Convert.ToBase64String(LocalSecret.LoadOrCreate(configuration, "Test:Unset", name));
                    }
                    catch (Exception e)
                    {
                        lock (errors)
                        {
                            errors.Add(e);
                        }
                    }
                })).ToList();
                threads.ForEach(t => t.Start());
                threads.ForEach(t => t.Join());

                errors.Should().BeEmpty();
                keys.Distinct().Should().ContainSingle("every host must use the key that is in the file");
                Convert.ToBase64String(Convert.FromBase64String(File.ReadAllText(Path.Combine(directory.FullName, name)).Trim())).Should().Be(keys[0]);
                File.GetUnixFileMode(Path.Combine(directory.FullName, name)).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static IConfiguration Configuration(string? dataDirectory) => new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { [DataDirectory.ConfigurationKey] = dataDirectory })
        .Build();
}
