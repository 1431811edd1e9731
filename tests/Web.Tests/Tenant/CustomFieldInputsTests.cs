using AngleSharp.Dom;
using MudBlazor;
using Shohayota.Api.Web;
using Shohayota.Api.Web.Components.Pages.Tenant;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Deals;

namespace Shohayota.Web.Tests.Tenant;

/// <summary>The custom-field inputs of the record dialogs (<see cref="CustomFieldInputs"/>), driven through the dialogs that use them.</summary>
public sealed class CustomFieldInputsTests : DialogTestContext
{
    private static readonly CustomFieldDefinition Industry = new("industry", "Industry", CustomFieldTypes.Select, ["Banking", "Retail"], true);
    private static readonly CustomFieldDefinition Seats = new("seats", "Seats", CustomFieldTypes.Number, [], false);
    private static readonly CustomFieldDefinition Renewal = new("renewal", "Renewal date", CustomFieldTypes.Date, [], false);
    private static readonly CustomFieldDefinition Vip = new("vip", "VIP", CustomFieldTypes.Boolean, [], false);
    private static readonly CustomFieldDefinition Region = new("region", "Region", CustomFieldTypes.Text, [], false);
    private static readonly IReadOnlyList<CustomFieldDefinition> All = [Industry, Seats, Renewal, Vip, Region];

    private readonly List<CustomerFields> _saves = [];
    private readonly Queue<UiResult<CustomerDetails>> _answers = new();

    [Fact]
    public async Task EachTypeGetsItsOwnInputInTheDefinitionsOrderAndARequiredOneIsMarked()
    {
        await OpenAsync(Parameters(null, All));

        Provider.FindAll("[data-testid=custom-field-input]").Select(i => i.QuerySelector("label")!.TextContent.Trim())
            .Should().Equal("Industry", "Seats", "Renewal date", "VIP", "Region");
        Select("Industry").Instance.Required.Should().BeTrue();
        Select("Industry").Instance.Clearable.Should().BeFalse("a required select has no empty choice");
        Provider.FindComponents<MudNumericField<decimal?>>().Single(f => f.Instance.Label == "Seats").Instance.Required.Should().BeFalse();
        Field("Renewal date").GetAttribute("type").Should().Be("date");
        Field("Region").GetAttribute("type").Should().Be("text");
        Checkbox("VIP").GetAttribute("type").Should().Be("checkbox");
        Field("Industry").GetAttribute("aria-required").Should().Be("true", "MudBlazor marks a required input with an asterisk and aria-required");
        Field("Seats").GetAttribute("aria-required").Should().Be("false");
    }

    [Fact]
    public async Task WithoutDefinitionsThereAreNoInputsAndTheRecordIsSentWithoutValues()
    {
        await OpenAsync(Parameters(null, []));
        Type("Name", "Ada");
        _answers.Enqueue(UiResult<CustomerDetails>.Success(Customer("Ada", 1, "{}")));

        await ClickAsync("Save");

        Provider.FindAll("[data-testid=custom-field-input]").Should().BeEmpty();
        _saves.Single().CustomFields.Should().Be("{}");
    }

    [Fact]
    public async Task TypedValuesAreSentAsCanonicalTextWithKeysInOrderAndNumbersNormalized()
    {
        await OpenAsync(Parameters(null, All));
        Type("Name", "Ada");
        await Provider.InvokeAsync(() => Select("Industry").Instance.SelectOption("Retail"));
        Type("Seats", "25.50");
        Type("Renewal date", "2025-03-01");
        await Provider.InvokeAsync(() => Checkbox("VIP").Change(true));
        Type("Region", "  North  ");
        _answers.Enqueue(UiResult<CustomerDetails>.Success(Customer("Ada", 1, "{}")));

        await ClickAsync("Save");

        _saves.Single().CustomFields.Should().Be("""{"industry":"Retail","region":"North","renewal":"2025-03-01","seats":25.5,"vip":true}""");
    }

    [Fact]
    public async Task AMissingRequiredValueAndABadDateAreShownNextToTheirInputsAndNothingIsSaved()
    {
        await OpenAsync(Parameters(null, All));
        Type("Name", "Ada");
        Type("Renewal date", "soon");

        await ClickAsync("Save");

        FieldMessage("Industry").Should().Be("Industry is required.");
        FieldMessage("Renewal date").Should().Be("Renewal date is a date, YYYY-MM-DD.");
        FieldMessage("Seats").Should().BeEmpty();
        _saves.Should().BeEmpty();
    }

    [Fact]
    public async Task AnEditIsPrefilledFromTheRecordsValuesAndSendsThemBackUnchanged()
    {
        const string values = """{"industry":"Banking","renewal":"2024-12-31","seats":1000000.125,"vip":false}""";
        await OpenAsync(Parameters(Customer("Grace", 4, values), All));

        Field("Industry").GetAttribute("value").Should().Be("Banking");
        Field("Seats").GetAttribute("value").Should().Be("1000000.125");
        Field("Renewal date").GetAttribute("value").Should().Be("2024-12-31");
        Checkbox("VIP").HasAttribute("checked").Should().BeFalse();
        _answers.Enqueue(UiResult<CustomerDetails>.Success(Customer("Grace", 5, values)));

        await ClickAsync("Save");

        _saves.Single().CustomFields.Should().Be(values, "a held yes/no field stays false, and nothing else changes");
    }

    [Fact]
    public async Task AnUntickedBoxTheRecordNeverHeldIsNoValueAndAClearedValueIsRemoved()
    {
        await OpenAsync(Parameters(Customer("Grace", 4, """{"industry":"Banking","seats":3}"""), All));
        Type("Seats", "");
        _answers.Enqueue(UiResult<CustomerDetails>.Success(Customer("Grace", 5, """{"industry":"Banking"}""")));

        await ClickAsync("Save");

        _saves.Single().CustomFields.Should().Be("""{"industry":"Banking"}""");
    }

    [Fact]
    public async Task TheGrainsRefusalOfAValueIsShownNextToItsInputAndAChangeOfTheFieldsAboveThem()
    {
        await OpenAsync(Parameters(Customer("Grace", 4, """{"industry":"Banking"}"""), All));
        _answers.Enqueue(UiResult<CustomerDetails>.Fail(Failure.Validation, "customFields.industry: Industry is one of: Banking, Retail, Energy."));

        await ClickAsync("Save");

        FieldMessage("Industry").Should().Be("Industry is one of: Banking, Retail, Energy.");
        Snackbars.Should().ContainSingle().Which.Should().Be("Industry is one of: Banking, Retail, Energy.");
        _answers.Enqueue(UiResult<CustomerDetails>.Fail(Failure.Validation, "customFields.size: \"size\" is not a custom field here; the custom fields are: industry."));

        await ClickAsync("Save");

        Provider.Find("[data-testid=custom-fields-error]").TextContent.Should().Contain("\"size\" is not a custom field here");
        _answers.Enqueue(UiResult<CustomerDetails>.Fail(Failure.Conflict, "The custom fields changed meanwhile; reload and try again."));

        await ClickAsync("Save");

        Provider.Find("[data-testid=customer-form-error]").TextContent.Should().Be("The custom fields changed meanwhile; reload and try again.");
    }

    [Fact]
    public async Task TheContactDialogSendsItsTypesValues()
    {
        var saves = new List<ContactFields>();
        var contact = new ContactDetails(Guid.NewGuid(), "Ada", null, null, null, null, null, null, [], null, DateTimeOffset.UnixEpoch,
            DateTimeOffset.UnixEpoch, 2, """{"vip":true}""");
        await OpenAsync(new DialogParameters<ContactDialog>
        {
            { d => d.Contact, contact },
            { d => d.CustomFields, [Vip, Region] },
            { d => d.FindCustomers, (_, _) => Task.FromResult<IEnumerable<CustomerChoice>>([]) },
            {
                d => d.Save, (fields, _) =>
                {
                    saves.Add(fields);
                    return Task.FromResult(UiResult<ContactDetails>.Success(contact));
                }
            },
        });
        Checkbox("VIP").HasAttribute("checked").Should().BeTrue();
        await Provider.InvokeAsync(() => Checkbox("VIP").Change(false));
        Type("Region", "Lisbon");

        await ClickAsync("Save");

        saves.Single().CustomFields.Should().Be("""{"region":"Lisbon","vip":false}""");
    }

    [Fact]
    public async Task TheDealDialogSendsItsTypesValues()
    {
        var saves = new List<DealFields>();
        var stage = new PipelineStage(Guid.NewGuid(), "Lead", DealStatuses.Open, 10);
        var customer = new CustomerChoice(Guid.NewGuid(), "Acme Corp", null);
        var deal = new DealDetails(Guid.NewGuid(), "Engines", customer.Id, [], 100m, "USD", stage.Id, DealStatuses.Open, null, null, null,
            DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 3, """{"seats":12}""");
        await OpenAsync(new DialogParameters<DealDialog>
        {
            { d => d.Deal, deal },
            { d => d.Customer, customer },
            { d => d.Stages, [stage] },
            { d => d.Me, Guid.NewGuid() },
            { d => d.CustomFields, [Seats, Renewal] },
            { d => d.FindCustomers, (_, _) => Task.FromResult<IEnumerable<CustomerChoice>>([customer]) },
            { d => d.FindContacts, _ => Task.FromResult(UiResult<IReadOnlyList<ContactChoice>>.Success([])) },
            {
                d => d.Save, (fields, _) =>
                {
                    saves.Add(fields);
                    return Task.FromResult(UiResult<DealDetails>.Success(deal));
                }
            },
        });
        Field("Seats").GetAttribute("value").Should().Be("12");
        Type("Seats", "-4");
        Type("Renewal date", "2026-01-15");

        await ClickAsync("Save");

        saves.Single().CustomFields.Should().Be("""{"renewal":"2026-01-15","seats":-4}""");
    }

    private DialogParameters<CustomerDialog> Parameters(CustomerDetails? customer, IReadOnlyList<CustomFieldDefinition> definitions) => new()
    {
        { d => d.Customer, customer },
        { d => d.CustomFields, definitions },
        {
            d => d.Save, (fields, _) =>
            {
                _saves.Add(fields);
                return Task.FromResult(_answers.Count > 0 ? _answers.Dequeue() : throw new InvalidOperationException("No answer set."));
            }
        },
    };

    private IRenderedComponent<MudSelect<string>> Select(string label) =>
        Provider.FindComponents<MudSelect<string>>().Single(s => s.Instance.Label == label);

    /// <summary>A checkbox by its label's text (MudBlazor wraps the input in its label).</summary>
    private IElement Checkbox(string label) =>
        Provider.FindAll("label").Single(l => l.TextContent.Trim().TrimEnd('*').Trim() == label).QuerySelector("input[type=checkbox]")!;

    private static CustomerDetails Customer(string name, int version, string values) =>
        new(Guid.NewGuid(), name, null, null, null, "customer", [], null, null, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, version, values);
}
