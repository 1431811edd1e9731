using Shohayota.Api.Web.Components.Pages.Tenant;
using Shohayota.Grains.Interfaces.Activities;
using Shohayota.Grains.Interfaces.Audit;

namespace Shohayota.Web.Tests.Tenant;

public sealed class ActivityEditorTests
{
    [Fact]
    public void MyTasksGroupsFollowEachOtherFromNowToTheEndOfTheWeekInTheBrowsersZone()
    {
        // 23:30 UTC on 10 March is already 11 March in Berlin (UTC+1 in winter).
        var now = new DateTimeOffset(2027, 3, 10, 23, 30, 0, TimeSpan.Zero);
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

        var windows = ActivityEditor.TaskWindows(now, berlin);

        windows.Select(w => w.Key).Should().Equal("overdue", "today", "week");
        windows[0].Should().Be(new TaskWindow("overdue", "Overdue", null, now));
        windows[1].Should().Be(new TaskWindow("today", "Today", now, new DateTimeOffset(2027, 3, 11, 23, 0, 0, TimeSpan.Zero)));
        windows[2].Should().Be(new TaskWindow("week", "This week", windows[1].Before, new DateTimeOffset(2027, 3, 17, 23, 0, 0, TimeSpan.Zero)),
            "the week ends seven days after today began, as the API's due=week");
    }

    [Fact]
    public void InUtcTodayEndsAtMidnightUtc()
    {
        var now = new DateTimeOffset(2027, 3, 10, 23, 30, 0, TimeSpan.Zero);

        var windows = ActivityEditor.TaskWindows(now, TimeZoneInfo.Utc);

        windows[1].Before.Should().Be(new DateTimeOffset(2027, 3, 11, 0, 0, 0, TimeSpan.Zero));
        windows[2].Before.Should().Be(new DateTimeOffset(2027, 3, 17, 0, 0, 0, TimeSpan.Zero));
    }

    [Theory]
    [InlineData("activity.created", "note", "Note added")]
    [InlineData("activity.updated", "task", "Task edited")]
    [InlineData("activity.completed", "task", "Task completed")]
    [InlineData("activity.reopened", "call", "Call reopened")]
    [InlineData("activity.deleted", "meeting", "Meeting deleted")]
    public void AnActivitysEntryReadsAsWhatHappenedToIt(string action, string type, string words)
    {
        var entry = Entry(action, Guid.NewGuid(), $$"""{"type":"{{type}}","subject":"Offer sent"}""");

        ActivityEditor.Timeline(entry, []).Should().Be(new TimelineActivity(words, "Offer sent"));
    }

    [Fact]
    public void AnEditsEntryTakesTypeAndSubjectFromTheListedActivity()
    {
        var id = Guid.NewGuid();
        var listed = new ActivityDetails(id, "task", "Call back", null, null, null, Guid.NewGuid(), null, null, null, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 2);
        var entry = Entry("activity.updated", id, """{"version":2,"changes":{"dueAt":{"before":null,"after":"2027-01-01T00:00:00Z"}}}""");

        ActivityEditor.Timeline(entry, [listed]).Should().Be(new TimelineActivity("Task edited", "Call back"));
    }

    [Fact]
    public void AnEditOfAnActivityNoLongerListedReadsItsNewSubjectFromTheChanges()
    {
        var entry = Entry("activity.updated", Guid.NewGuid(), """{"version":2,"changes":{"subject":{"before":"Old","after":"New"}}}""");

        ActivityEditor.Timeline(entry, []).Should().Be(new TimelineActivity("Activity edited", "New"));
    }

    [Fact]
    public void OtherEntriesAreNotActivities()
    {
        ActivityEditor.Timeline(Entry("deal.created", Guid.NewGuid(), """{"name":"x"}""") with { TargetType = "deal" }, []).Should().BeNull();
    }

    private static AuditEntry Entry(string action, Guid target, string details) =>
        new(Guid.NewGuid(), Guid.NewGuid(), 1, DateTimeOffset.UnixEpoch, new AuditActor(null, "a@b.test", "member"), action, "activity", target.ToString("D"),
            "success", null, null, null, details, [], []);
}
