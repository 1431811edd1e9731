using Microsoft.Playwright;
using Shohayota.TestSupport;

namespace Shohayota.E2E.Tests.Infrastructure;

/// <summary>
/// Screenshots of the key screens: always under <c>tests/E2E.Tests/TestResults/screenshots/</c> (test artifacts), and
/// the ones meant for the README also into the directory named by <c>SHOHAYOTA_SCREENSHOTS</c> (e.g. docs/screenshots).
/// </summary>
public static class Screenshots
{
    public const string DocsVariable = "SHOHAYOTA_SCREENSHOTS";

    public static string ArtifactDirectory { get; } = Path.Combine(Repository.Root, "tests", "E2E.Tests", "TestResults", "screenshots");

    /// <summary>Where tests keep the files the browser downloaded.</summary>
    public static string DownloadDirectory { get; } = Path.Combine(Repository.Root, "tests", "E2E.Tests", "TestResults", "downloads");

    /// <summary>Saves a full-page screenshot; returns where. <paramref name="docsName"/>: also the README's copy of that name.</summary>
    public static async Task<string> SaveAsync(IPage page, string test, string step, string? docsName = null)
    {
        var file = Path.Combine(ArtifactDirectory, test, step + ".png");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var image = await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        if (docsName is not null && Environment.GetEnvironmentVariable(DocsVariable) is { Length: > 0 } docs)
        {
            var directory = Path.IsPathRooted(docs) ? docs : Path.Combine(Repository.Root, docs);
            Directory.CreateDirectory(directory);
            await File.WriteAllBytesAsync(Path.Combine(directory, docsName + ".png"), image);
        }

        return file;
    }
}
