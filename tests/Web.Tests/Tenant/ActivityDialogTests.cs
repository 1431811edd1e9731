using MudBlazor;
using Shohayota.Api.Web;
using Shohayota.Api.Web.Components.Pages.Tenant;
using Shohayota.Grains.Activities;
using Shohayota.Grains.Interfaces.Activities;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Web.Tests.Tenant;

public sealed class ActivityDialogTests : DialogTestContext
{
    private static readonly Guid Me = Guid.NewGuid();
    private static readonly UserChoice Ada = new(Guid.NewGuid(), "Ada Lovelace");
    private static readonly UserChoice Grace = new(Guid.NewGuid(), "Grace Hopper");
    private static readonly ActivityLinks Acme = new(Guid.NewGuid());
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    private readonly List<(ActivityFields Fields, int? Version)> _saves = [];
    private UiResult<ActivityDetails>? _answer;

    [Fact]
    public async Task ANoteWithoutSubjectGetsTheRuleNextToTheFieldAndNothingIsSaved()
    {
        await OpenAsync(Parameters(null, ActivityTypes.Note));

        await ClickAsync("Save");

        FieldMessage("Subject").Should().Be(ActivityRules.Check(ActivityTypes.Note, null, null, null, Acme.CustomerId, null, null, false)["subject"]);
        _saves.Should().BeEmpty();
    }

    [Fact]
    public async Task ABodyAboveTheLimitGetsTheRuleNextToTheField()
    {
        await OpenAsync(Parameters(null, ActivityTypes.Note));
        Type("Subject", "Long story");
        Type("Body", new string('x', ActivityRules.MaxBody + 1));

        await ClickAsync("Save");

        FieldMessage("Body").Should().Be("A body has at most 20,000 characters.");
        _saves.Should().BeEmpty();
    }

    [Fact]
    public async Task ANoteHasNoDueTimeNorDoneAndSendsNeitherEvenWhenTypedBeforeTheTypeChanged()
    {
        await OpenAsync(Parameters(null, ActivityTypes.Note));
        Labels().Should().NotContain(["Due", "Done"]);
        Checkboxes().Should().BeEmpty();
        Field("Assignee").GetAttribute("value").Should().Be("Nobody", "a note is nobody's to do");

        await PickTypeAsync(ActivityTypes.Task);
        Labels().Should().Contain("Due");
        Checkboxes().Should().ContainSingle();
        Field("Assignee").GetAttribute("value").Should().Be("Me", "a task is its creator's unless they pick otherwise");
        Type("Due", "2027-01-15T10:00");
        await Provider.InvokeAsync(() => Checkboxes().Single().Change(true));

        await PickTypeAsync(ActivityTypes.Note);
        Labels().Should().NotContain(["Due", "Done"]);
        Type("Subject", "Heard from them");
        Type("Body", "Line one\nLine two");
        _answer = UiResult<ActivityDetails>.Success(Activity(ActivityTypes.Note, "Heard from them", 1));

        await ClickAsync("Save");

        var (fields, version) = _saves.Single();
        version.Should().BeNull();
        fields.Type.Should().Be(ActivityTypes.Note);
        fields.DueAt.Should().BeNull("a note is not due");
        fields.Done.Should().BeFalse("a note is never done");
        fields.AssigneeUserId.Should().BeNull();
        fields.Body.Should().Be("Line one\nLine two", "the body is sent as typed, line breaks and all");
        fields.CustomerId.Should().Be(Acme.CustomerId);
        Snackbars.Should().ContainSingle().Which.Should().Be("Note Heard from them added.");
    }

    [Fact]
    public async Task ATaskReachesTheGrainWithItsDueTimeInTheBrowsersZoneTheAssigneeAndThePagesLinks()
    {
        var links = new ActivityLinks(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await OpenAsync(Parameters(null, ActivityTypes.Task, links, Berlin));
        FieldMessage("Due").Should().Be("Optional; in Europe/Berlin.");
        Type("Subject", "  Send the offer  ");
        Type("Due", "2027-03-31T09:30");
        await PickAsync("Assignee", Grace.Id);
        _answer = UiResult<ActivityDetails>.Success(Activity(ActivityTypes.Task, "Send the offer", 1));

        await ClickAsync("Save");

        var fields = _saves.Single().Fields;
        fields.Type.Should().Be(ActivityTypes.Task);
        fields.Subject.Should().Be("Send the offer");
        fields.Body.Should().BeNull("an empty body is no body");
        fields.DueAt.Should().Be(new DateTimeOffset(2027, 3, 31, 7, 30, 0, TimeSpan.Zero), "09:30 in Berlin in summer is 07:30 UTC");
        fields.AssigneeUserId.Should().Be(Grace.Id);
        (fields.CustomerId, fields.ContactId, fields.DealId).Should().Be((links.CustomerId, links.ContactId, links.DealId));
        fields.Done.Should().BeFalse();
        Snackbars.Should().ContainSingle().Which.Should().Be("Task Send the offer added.");
    }

    [Fact]
    public async Task ADueTimeOutsideTheRulesYearsGetsTheRuleNextToTheField()
    {
        await OpenAsync(Parameters(null, ActivityTypes.Call));
        Type("Subject", "Ring them");
        Type("Due", "1850-06-01T12:00");

        await ClickAsync("Save");

        FieldMessage("Due").Should().Be("dueAt is a time between the years 1900 and 9000.");
        _saves.Should().BeEmpty();
    }

    [Fact]
    public async Task AnEditShowsTheActivityInTheZoneSendsTheVersionItReadKeepsItsLinksAndCompletesIt()
    {
        var other = Guid.NewGuid();
        var meeting = Activity(ActivityTypes.Meeting, "Kick-off", 4) with
        {
            DueAt = new DateTimeOffset(2027, 1, 10, 14, 0, 0, TimeSpan.Zero), AssigneeUserId = other, ContactId = Guid.NewGuid(), Body = "Agenda",
        };
        await OpenAsync(Parameters(meeting, meeting.Type, new ActivityLinks(Guid.NewGuid()), Berlin));
        Field("Subject").GetAttribute("value").Should().Be("Kick-off");
        Field("Due").GetAttribute("value").Should().Be("2027-01-10T15:00", "14:00 UTC is 15:00 in Berlin in winter");
        Field("Assignee").GetAttribute("value").Should().Be("Unchanged (another user)");
        await Provider.InvokeAsync(() => Checkboxes().Single().Change(true));
        _answer = UiResult<ActivityDetails>.Success(meeting with { Version = 5 });

        await ClickAsync("Save");

        var (fields, version) = _saves.Single();
        version.Should().Be(4);
        fields.Done.Should().BeTrue();
        fields.DueAt.Should().Be(meeting.DueAt);
        fields.AssigneeUserId.Should().Be(other, "another user's assignment is kept");
        (fields.CustomerId, fields.ContactId, fields.DealId).Should().Be((meeting.CustomerId, meeting.ContactId, meeting.DealId), "an edit keeps the activity's own links");
        fields.Body.Should().Be("Agenda");
        Snackbars.Should().ContainSingle().Which.Should().Be("Meeting Kick-off saved.");
    }

    [Fact]
    public async Task AVersionConflictSaysItChangedInTheMeantimeAndKeepsTheDialogOpen()
    {
        await OpenAsync(Parameters(Activity(ActivityTypes.Task, "Follow up", 3), ActivityTypes.Task));
        _answer = UiResult<ActivityDetails>.Fail(Failure.PreconditionFailed, "Version 3 is not current.");

        await ClickAsync("Save");

        Provider.Find("[data-testid=activity-form-error]").TextContent.Should().Contain("task was changed in the meantime");
        Field("Subject").Should().NotBeNull("the dialog stays open");
    }

    [Fact]
    public async Task AnAssigneeWhoIsNoLongerTheTenantsIsRefusedNextToTheField()
    {
        await OpenAsync(Parameters(null, ActivityTypes.Task));
        Type("Subject", "Hand over");
        await PickAsync("Assignee", Ada.Id);
        _answer = UiResult<ActivityDetails>.Fail(Failure.Validation, "assigneeUserId is not a user of this tenant.");

        await ClickAsync("Save");

        FieldMessage("Assignee").Should().Contain("does not exist");
        Provider.FindAll("[data-testid=activity-form-error]").Should().BeEmpty();
    }

    [Fact]
    public async Task WithoutAnyLinkTheRuleShowsAboveTheFormAndNothingIsSaved()
    {
        await OpenAsync(Parameters(null, ActivityTypes.Note, new ActivityLinks(null)));
        Type("Subject", "About nothing");

        await ClickAsync("Save");

        Provider.Find("[data-testid=activity-form-error]").TextContent.Should().Contain("at least one record");
        _saves.Should().BeEmpty();
    }

    private List<string> Labels() => Provider.FindAll("label").Select(l => l.TextContent.Trim().TrimEnd('*').Trim()).ToList();

    private IReadOnlyList<AngleSharp.Dom.IElement> Checkboxes() => Provider.FindAll("input[type=checkbox]");

    private async Task PickTypeAsync(string type)
    {
        var select = Provider.FindComponents<MudSelect<string>>().Single(s => s.Instance.Label == "Type");
        await Provider.InvokeAsync(() => select.Instance.SelectOption(type));
    }

    private async Task PickAsync(string label, Guid value)
    {
        var select = Provider.FindComponents<MudSelect<Guid>>().Single(s => s.Instance.Label == label);
        await Provider.InvokeAsync(() => select.Instance.SelectOption(value));
    }

    private DialogParameters<ActivityDialog> Parameters(ActivityDetails? activity, string type, ActivityLinks? links = null, TimeZoneInfo? zone = null) => new()
    {
        { d => d.Activity, activity },
        { d => d.Links, links ?? Acme },
        { d => d.Type, type },
        { d => d.Me, Me },
        { d => d.Users, [Ada, Grace] },
        { d => d.TimeZone, zone ?? TimeZoneInfo.Utc },
        {
            d => d.Save, (fields, version) =>
            {
                _saves.Add((fields, version));
                return Task.FromResult(_answer ?? throw new InvalidOperationException("No answer set."));
            }
        },
    };

    private static ActivityDetails Activity(string type, string subject, int version) =>
        new(Guid.NewGuid(), type, subject, null, null, null, Acme.CustomerId, null, null, null, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, version);
}
