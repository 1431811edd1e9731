using MudBlazor;
using Shohayota.Api.Web;
using Shohayota.Api.Web.Components.Pages.Tenant;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Security;

namespace Shohayota.Web.Tests.Tenant;

public sealed class ContactDialogTests : DialogTestContext
{
    private static readonly CustomerChoice Acme = new(Guid.NewGuid(), "Acme Corp", "ops@acme.test");
    private readonly List<(ContactFields Fields, int? Version)> _saves = [];
    private readonly List<string?> _searches = [];
    private UiResult<ContactDetails>? _answer;

    [Fact]
    public async Task AContactWithoutAnyNameGetsTheRuleNextToTheLastNameAndNothingIsSaved()
    {
        await OpenAsync(Parameters(null));
        Type("Email", "someone@example.test");

        await ClickAsync("Save");

        FieldMessage("Last name").Should().Be("A first or a last name is required.");
        FieldMessage("First name").Should().BeEmpty();
        _saves.Should().BeEmpty();
    }

    [Theory]
    [InlineData("not-an-email")]
    [InlineData("two@@example.test")]
    public async Task AnInvalidEmailGetsTheApisMessageNextToTheField(string email)
    {
        await OpenAsync(Parameters(null));
        Type("Last name", "Lovelace");
        Type("Email", email);

        await ClickAsync("Save");

        FieldMessage("Email").Should().Be(Validation.Email(email)).And.NotBeEmpty();
        FieldMessage("Last name").Should().Be("A first or a last name (or both).", "the helper text stays: the name is fine");
        _saves.Should().BeEmpty();
    }

    [Fact]
    public async Task ANewContactIsSavedWithTheTypedFieldsWithoutAVersionAndTheDialogCloses()
    {
        var dialog = await OpenAsync(Parameters(null, Acme));
        Type("First name", " Ada ");
        Type("Last name", "Lovelace");
        Type("Email", "ada@acme.test");
        Type("Title", "Analyst");
        Type("Tags", "math, engines,,math");
        Type("Notes", "Met at the demo.");
        _answer = UiResult<ContactDetails>.Success(Contact("Ada", "Lovelace", 1));

        await ClickAsync("Save");

        var (fields, version) = _saves.Single();
        version.Should().BeNull();
        fields.FirstName.Should().Be("Ada");
        fields.LastName.Should().Be("Lovelace");
        fields.Email.Should().Be("ada@acme.test");
        fields.Phone.Should().BeNull("an empty field is no value, as in the API");
        fields.Title.Should().Be("Analyst");
        fields.CustomerId.Should().Be(Acme.Id, "a new contact starts with the customer the page is filtered by");
        fields.Tags.Should().Equal("math", "engines");
        fields.Notes.Should().Be("Met at the demo.");
        Snackbars.Should().ContainSingle().Which.Should().Be("Contact Ada Lovelace created.");
        (await dialog.Result)!.Canceled.Should().BeFalse();
    }

    [Fact]
    public async Task TheCustomerIsPickedFromTheCustomerSearchByWhatIsTyped()
    {
        await OpenAsync(Parameters(null));
        Type("Last name", "Hopper");
        Field("Customer").Input("acm");
        await WaitForPickerItemAsync("Acme Corp");

        await Popovers.InvokeAsync(() => Popovers.FindAll(".mud-list-item").First(i => i.TextContent.Contains("Acme Corp", StringComparison.Ordinal)).Click());
        _answer = UiResult<ContactDetails>.Success(Contact(null, "Hopper", 1));
        await ClickAsync("Save");

        _searches.Should().Contain("acm");
        _saves.Single().Fields.CustomerId.Should().Be(Acme.Id);
    }

    [Fact]
    public async Task AnEditSendsTheVersionItReadAndKeepsTheOwnerAndTheCustomer()
    {
        var contact = Contact("Grace", "Hopper", 7) with { CustomerId = Acme.Id, Tags = ["navy"], OwnerUserId = Guid.NewGuid() };
        await OpenAsync(Parameters(contact, Acme));
        Field("First name").GetAttribute("value").Should().Be("Grace");
        Field("Customer").GetAttribute("value").Should().Be("Acme Corp");
        Type("Title", "Rear Admiral");
        _answer = UiResult<ContactDetails>.Success(contact with { Title = "Rear Admiral", Version = 8 });

        await ClickAsync("Save");

        var (fields, version) = _saves.Single();
        version.Should().Be(7);
        fields.Title.Should().Be("Rear Admiral");
        fields.CustomerId.Should().Be(Acme.Id);
        fields.Tags.Should().Equal("navy");
        fields.OwnerUserId.Should().Be(contact.OwnerUserId);
        Snackbars.Should().ContainSingle().Which.Should().Contain("saved");
    }

    [Fact]
    public async Task AVersionConflictSaysItChangedInTheMeantimeAndKeepsTheDialogOpen()
    {
        await OpenAsync(Parameters(Contact("Grace", "Hopper", 3)));
        _answer = UiResult<ContactDetails>.Fail(Failure.PreconditionFailed, "Version 3 is not current.");

        await ClickAsync("Save");

        Snackbars.Should().ContainSingle().Which.Should().Contain("contact was changed in the meantime");
        Provider.Find("[data-testid=contact-form-error]").TextContent.Should().Contain("changed in the meantime");
        Field("First name").Should().NotBeNull("the dialog stays open so the user can reload and edit again");
    }

    [Fact]
    public async Task ACustomerThatIsNotTheTenantsIsRefusedNextToThePicker()
    {
        await OpenAsync(Parameters(null, Acme));
        Type("Last name", "Hopper");
        _answer = UiResult<ContactDetails>.Fail(Failure.Validation, "customerId is not a customer of this tenant.");

        await ClickAsync("Save");

        FieldMessage("Customer").Should().Contain("does not exist");
        Provider.FindAll("[data-testid=contact-form-error]").Should().BeEmpty();
    }

    private async Task WaitForPickerItemAsync(string text)
    {
        // The picker searches after its debounce interval (300 ms), on a timer.
        for (var waited = 0; waited < 5_000 && !Popovers.FindAll(".mud-list-item").Any(i => i.TextContent.Contains(text, StringComparison.Ordinal)); waited += 50)
        {
            await Task.Delay(50);
        }

        Popovers.FindAll(".mud-list-item").Should().Contain(i => i.TextContent.Contains(text, StringComparison.Ordinal));
    }

    private DialogParameters<ContactDialog> Parameters(ContactDetails? contact, CustomerChoice? customer = null) => new()
    {
        { d => d.Contact, contact },
        { d => d.Customer, customer },
        {
            d => d.Save, (fields, version) =>
            {
                _saves.Add((fields, version));
                return Task.FromResult(_answer ?? throw new InvalidOperationException("No answer set."));
            }
        },
        {
            d => d.FindCustomers, (text, _) =>
            {
                _searches.Add(text);
                return Task.FromResult<IEnumerable<CustomerChoice>>(
                    string.IsNullOrEmpty(text) || Acme.Name.Contains(text, StringComparison.OrdinalIgnoreCase) ? [Acme] : []);
            }
        },
    };

    private static ContactDetails Contact(string? first, string? last, int version) =>
        new(Guid.NewGuid(), first, last, null, null, null, null, null, [], null, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, version);
}
