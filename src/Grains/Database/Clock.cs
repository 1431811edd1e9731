namespace Shohayota.Grains.Database;

public static class Clock
{
    /// <summary>Now, at PostgreSQL's timestamp precision, so a grain's view equals what the row stores.</summary>
    public static DateTimeOffset Now(this TimeProvider time)
    {
        var now = time.GetUtcNow();
        return now.AddTicks(-(now.Ticks % 10));
    }
}
