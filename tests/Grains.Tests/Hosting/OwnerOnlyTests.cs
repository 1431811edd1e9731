using Shohayota.Grains.Hosting;

namespace Shohayota.Grains.Tests.Hosting;

/// <summary>Secrets written to the local disk are the owner's alone (0600), new files and files that were there before.</summary>
public sealed class OwnerOnlyTests
{
    [Fact]
    public async Task AFileThatWasReadableByOthersIsNarrowedAndItsContentReplaced()
    {
        var directory = Directory.CreateTempSubdirectory("shohayota-owner-only-");
        try
        {
            var file = Path.Combine(directory.FullName, "superadmin.txt");
            await File.WriteAllTextAsync(file, "an older, longer content that must not survive");
            File.SetUnixFileMode(file, OwnerOnly.FileMode | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

            await OwnerOnly.WriteAsync(file, "password=new");

            File.GetUnixFileMode(file).Should().Be(OwnerOnly.FileMode);
            (await File.ReadAllTextAsync(file)).Should().Be("password=new");
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
