using Shohayota.Grains.Hosting;

namespace Shohayota.Grains.Tests.Hosting;

/// <summary>Secrets written to the local disk are the owner's alone (0600), new files and files that were there before.</summary>
public sealed class OwnerOnlyTests
{
    [Fact]
    public async Task AFileThatWasReadableByOthersIsReplacedAndAHandleOpenedOnItNeverSeesTheNewContent()
    {
        var directory = Directory.CreateTempSubdirectory("shohayota-owner-only-");
        try
        {
            var file = Path.Combine(directory.FullName, "superadmin.txt");
            await File.WriteAllTextAsync(file, "old");
            File.SetUnixFileMode(file, OwnerOnly.FileMode | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            // Another account's handle, opened while the file was readable: it must not read the new secret through it.
            await using var watcher = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

            OwnerOnly.Write(file, "password=new");

            File.GetUnixFileMode(file).Should().Be(OwnerOnly.FileMode);
            (await File.ReadAllTextAsync(file)).Should().Be("password=new");
            (await new StreamReader(watcher).ReadToEndAsync()).Should().Be("old");
            directory.GetFiles().Select(f => f.Name).Should().Equal("superadmin.txt");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void ANewFileIsOwnerOnly()
    {
        var directory = Directory.CreateTempSubdirectory("shohayota-owner-only-");
        try
        {
            var file = Path.Combine(directory.FullName, "credentials.json");

            OwnerOnly.Write(file, "{}");

            File.GetUnixFileMode(file).Should().Be(OwnerOnly.FileMode);
            File.ReadAllText(file).Should().Be("{}");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
