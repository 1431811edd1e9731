using Shohayota.Api.Web.Components.Pages.Tenant;

namespace Shohayota.Web.Tests.Tenant;

public sealed class RecordDeleteQuestionTests
{
    [Theory]
    [InlineData("The customer still has 1 contact. Remove them first, or delete with ?cascade=true to remove them with it.", "1 contact")]
    [InlineData("The customer still has 3 deals. Remove them first, or delete with ?cascade=true to remove them with it.", "3 deals")]
    [InlineData("The customer still has 2 contacts and 1 deal. Remove them first, or delete with ?cascade=true to remove them with it.", "2 contacts and 1 deal")]
    [InlineData("The customer still has 1 activity. Remove them first, or delete with ?cascade=true to remove them with it.", "1 activity")]
    [InlineData("The customer still has 2 contacts, 1 deal and 3 activities. Remove them first, or delete with ?cascade=true to remove them with it.",
        "2 contacts, 1 deal and 3 activities")]
    [InlineData("The customer still has 1 deal and 2 activities. Remove them first, or delete with ?cascade=true to remove them with it.", "1 deal and 2 activities")]
    [InlineData("The contact still has 1 activity. Delete them first, or delete with ?cascade=true to remove them with it.", "1 activity")]
    [InlineData("The deal still has 12 activities. Delete them first, or delete with ?cascade=true to remove them with it.", "12 activities")]
    public void TheQuestionNamesWhatTheRefusalCounts(string refusal, string named)
    {
        RecordDeletion.Dependents(refusal).Should().Be(named);
    }

    [Theory]
    [InlineData("The customer was changed meanwhile.")]
    [InlineData("The contact is still on 2 deals; remove it from them first.")]
    [InlineData(null)]
    public void ARefusalWithoutCountsNamesNothingSoTheQuestionQuotesIt(string? refusal)
    {
        RecordDeletion.Dependents(refusal).Should().BeNull();
    }
}
