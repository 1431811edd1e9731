using MudBlazor;
using Shohayota.Api.Web;
using Shohayota.Api.Web.Components.Pages.Tenant;
using Shohayota.Grains.Deals;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Deals;

namespace Shohayota.Web.Tests.Tenant;

public sealed class DealDialogTests : DialogTestContext
{
    private static readonly CustomerChoice Acme = new(Guid.NewGuid(), "Acme Corp", "ops@acme.test");
    private static readonly CustomerChoice Globex = new(Guid.NewGuid(), "Globex", null);
    private static readonly ContactChoice Ada = new(Guid.NewGuid(), "Ada Lovelace");
    private static readonly ContactChoice Grace = new(Guid.NewGuid(), "Grace Hopper");
    private static readonly Guid Me = Guid.NewGuid();

    private static readonly IReadOnlyList<PipelineStage> Stages =
    [
        new(Guid.NewGuid(), "Lead", DealStatuses.Open, 10),
        new(Guid.NewGuid(), "Proposal", DealStatuses.Open, 50),
        new(Guid.NewGuid(), "Won", DealStatuses.Won, 100),
    ];

    private readonly List<(DealFields Fields, int? Version)> _saves = [];
    private readonly List<Guid> _contactLookups = [];
    private UiResult<DealDetails>? _answer;

    [Fact]
    public async Task ADealWithoutNameOrCustomerGetsTheRulesNextToTheFieldsAndNothingIsSaved()
    {
        await OpenAsync(Parameters(null));
        Type("Amount", "100");

        await ClickAsync("Save");

        FieldMessage("Name").Should().Be(DealRules.Check(null, Acme.Id, [], 1m, "EUR")["name"]);
        FieldMessage("Customer").Should().Be("Pick the customer the deal is with.");
        _saves.Should().BeEmpty();
    }

    [Fact]
    public async Task TheAmountReachesTheGrainExactlyAsTypedWithAllItsDigits()
    {
        await OpenAsync(Parameters(null, Acme));
        Type("Name", "Analytical engine");
        // 17 significant digits: a double would keep 1234567890123.4568 (or less), a decimal keeps them all.
        Type("Amount", "1234567890123.4567");
        Type("Currency", "eur");
        _answer = UiResult<DealDetails>.Success(Deal("Analytical engine", 1));

        await ClickAsync("Save");

        var (fields, version) = _saves.Single();
        version.Should().BeNull();
        fields.Amount.Should().Be(1234567890123.4567m);
        fields.Amount.ToString(System.Globalization.CultureInfo.InvariantCulture).Should().Be("1234567890123.4567");
        ((decimal)(double)fields.Amount).Should().NotBe(fields.Amount, "the value is one a double cannot hold, so a detour through double would show");
        fields.Currency.Should().Be("EUR", "a code is sent in capitals, as the API requires");
        fields.Name.Should().Be("Analytical engine");
        fields.CustomerId.Should().Be(Acme.Id);
        fields.StageId.Should().Be(Stages[0].Id, "a new deal starts in the first open stage");
        fields.OwnerUserId.Should().Be(Me, "the one who creates a deal owns it unless they pick otherwise");
        fields.ContactIds.Should().BeEmpty();
        fields.ExpectedCloseDate.Should().BeNull();
        Snackbars.Should().ContainSingle().Which.Should().Be("Deal Analytical engine created.");
    }

    [Theory]
    [InlineData("12.34567")]
    [InlineData("-1")]
    [InlineData("10000000000000")]
    public async Task AnAmountTheApiRefusesGetsItsRuleNextToTheField(string amount)
    {
        await OpenAsync(Parameters(null, Acme));
        Type("Name", "Too precise");
        Type("Amount", amount);

        await ClickAsync("Save");

        FieldMessage("Amount").Should().Be(DealRules.Check("n", Acme.Id, [], decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture), "EUR")["amount"])
            .And.Contain("at most 4 decimals");
        _saves.Should().BeEmpty();
    }

    [Fact]
    public async Task AMissingAmountIsRequired()
    {
        await OpenAsync(Parameters(null, Acme));
        Type("Name", "No amount");

        await ClickAsync("Save");

        FieldMessage("Amount").Should().Be("amount is required (0 or more).");
        _saves.Should().BeEmpty();
    }

    [Theory]
    [InlineData("EURO")]
    [InlineData("XYZ")]
    [InlineData("")]
    public async Task ACurrencyThatIsNoIso4217CodeIsRefusedNextToTheField(string currency)
    {
        await OpenAsync(Parameters(null, Acme));
        Type("Name", "Odd money");
        Type("Amount", "10");
        Type("Currency", currency);

        await ClickAsync("Save");

        FieldMessage("Currency").Should().Be("currency is an ISO 4217 code in capitals, such as EUR or USD.");
        _saves.Should().BeEmpty();
    }

    [Fact]
    public async Task TheContactsOfferedAreThePickedCustomersAndTheChosenOnesAreSaved()
    {
        await OpenAsync(Parameters(null, Acme, Stages[1].Id));
        _contactLookups.Should().Equal(Acme.Id);
        Type("Name", "Difference engine");
        Type("Amount", "2500.50");
        Type("Expected close date", "2027-03-31");
        var contacts = Provider.FindComponents<MudSelect<Guid>>().Single(s => s.Instance.Label == "Contacts");
        await Provider.InvokeAsync(() => contacts.Instance.SelectOption(Grace.Id));
        _answer = UiResult<DealDetails>.Success(Deal("Difference engine", 1));

        await ClickAsync("Save");

        var fields = _saves.Single().Fields;
        fields.ContactIds.Should().Equal(Grace.Id);
        fields.StageId.Should().Be(Stages[1].Id, "a new deal from a board's column starts in that stage");
        fields.Amount.Should().Be(2500.50m);
        fields.Currency.Should().Be("USD");
        fields.ExpectedCloseDate.Should().Be(new DateOnly(2027, 3, 31));
    }

    [Fact]
    public async Task PickingAnotherCustomerDropsTheContactsOfTheFirst()
    {
        var deal = Deal("Engines", 4) with { ContactIds = [Ada.Id] };
        await OpenAsync(Parameters(deal, Acme));
        Field("Contacts").GetAttribute("value").Should().Be("Ada Lovelace");
        var picker = Provider.FindComponent<CustomerPicker>();

        await Provider.InvokeAsync(() => picker.Instance.ValueChanged.InvokeAsync(Globex));
        _answer = UiResult<DealDetails>.Success(deal);
        await ClickAsync("Save");

        _contactLookups.Should().Equal(Acme.Id, Globex.Id);
        var fields = _saves.Single().Fields;
        fields.CustomerId.Should().Be(Globex.Id);
        fields.ContactIds.Should().BeEmpty("Ada is Acme's, not Globex's");
    }

    [Fact]
    public async Task AnEditSendsTheVersionItReadAndKeepsAnotherUsersOwnership()
    {
        var owner = Guid.NewGuid();
        var deal = Deal("Engines", 7) with
        {
            StageId = Stages[2].Id, Status = DealStatuses.Won, Amount = 0.0001m, Currency = "JPY", OwnerUserId = owner, ContactIds = [Ada.Id],
            ExpectedCloseDate = new DateOnly(2026, 12, 24),
        };
        await OpenAsync(Parameters(deal, Acme));
        Field("Name").GetAttribute("value").Should().Be("Engines");
        Field("Amount").GetAttribute("value").Should().Be("0.0001");
        Field("Expected close date").GetAttribute("value").Should().Be("2026-12-24");
        Type("Name", "Engines, phase two");
        _answer = UiResult<DealDetails>.Success(deal with { Name = "Engines, phase two", Version = 8 });

        await ClickAsync("Save");

        var (fields, version) = _saves.Single();
        version.Should().Be(7);
        fields.Name.Should().Be("Engines, phase two");
        fields.Amount.Should().Be(0.0001m);
        fields.Currency.Should().Be("JPY");
        fields.StageId.Should().Be(Stages[2].Id);
        fields.OwnerUserId.Should().Be(owner);
        fields.ContactIds.Should().Equal(Ada.Id);
        fields.ExpectedCloseDate.Should().Be(new DateOnly(2026, 12, 24));
        Snackbars.Should().ContainSingle().Which.Should().Be("Deal Engines, phase two saved.");
    }

    [Fact]
    public async Task AVersionConflictSaysItChangedInTheMeantimeAndKeepsTheDialogOpen()
    {
        await OpenAsync(Parameters(Deal("Engines", 3), Acme));
        _answer = UiResult<DealDetails>.Fail(Failure.PreconditionFailed, "Version 3 is not current.");

        await ClickAsync("Save");

        Provider.Find("[data-testid=deal-form-error]").TextContent.Should().Contain("deal was changed in the meantime");
        Field("Name").Should().NotBeNull("the dialog stays open");
    }

    [Fact]
    public async Task ACustomerThatIsNotTheTenantsIsRefusedNextToThePicker()
    {
        await OpenAsync(Parameters(null, Acme));
        Type("Name", "Engines");
        Type("Amount", "1");
        _answer = UiResult<DealDetails>.Fail(Failure.Validation, "customerId is not a customer of this tenant.");

        await ClickAsync("Save");

        FieldMessage("Customer").Should().Contain("does not exist");
        Provider.FindAll("[data-testid=deal-form-error]").Should().BeEmpty();
    }

    private DialogParameters<DealDialog> Parameters(DealDetails? deal, CustomerChoice? customer = null, Guid? stage = null) => new()
    {
        { d => d.Deal, deal },
        { d => d.Customer, customer },
        { d => d.Stages, Stages },
        { d => d.StageId, stage },
        { d => d.Me, Me },
        {
            d => d.Save, (fields, version) =>
            {
                _saves.Add((fields, version));
                return Task.FromResult(_answer ?? throw new InvalidOperationException("No answer set."));
            }
        },
        { d => d.FindCustomers, (_, _) => Task.FromResult<IEnumerable<CustomerChoice>>([Acme, Globex]) },
        {
            d => d.FindContacts, customerId =>
            {
                _contactLookups.Add(customerId);
                return Task.FromResult(UiResult<IReadOnlyList<ContactChoice>>.Success(customerId == Acme.Id ? [Ada, Grace] : []));
            }
        },
    };

    private static DealDetails Deal(string name, int version) =>
        new(Guid.NewGuid(), name, Acme.Id, [], 100m, "USD", Stages[0].Id, DealStatuses.Open, null, Me, null, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, version);
}
