using MudBlazor;
using Shohayota.Api.Web;
using Shohayota.Api.Web.Components.Pages.Tenant;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Security;

namespace Shohayota.Web.Tests.Tenant;

public sealed class CustomerDialogTests : DialogTestContext
{
    private readonly List<(CustomerFields Fields, int? Version)> _saves = [];
    private UiResult<CustomerDetails>? _answer;

    [Fact]
    public async Task AMissingNameIsShownNextToTheFieldAndNothingIsSaved()
    {
        await OpenAsync(Parameters(null));

        await ClickAsync("Save");

        FieldMessage("Name").Should().Be("A name is required.");
        _saves.Should().BeEmpty();
    }

    [Theory]
    [InlineData("not-an-email")]
    [InlineData("two@@example.test")]
    public async Task AnInvalidEmailGetsTheApisMessageNextToTheField(string email)
    {
        await OpenAsync(Parameters(null));
        Type("Name", "Ada Lovelace");
        Type("Email", email);

        await ClickAsync("Save");

        FieldMessage("Email").Should().Be(Validation.Email(email)).And.NotBeEmpty();
        FieldMessage("Name").Should().BeEmpty();
        _saves.Should().BeEmpty();
    }

    [Fact]
    public async Task TooManyTagsAreRefusedLikeTheApiRefusesThem()
    {
        await OpenAsync(Parameters(null));
        Type("Name", "Ada");
        Type("Tags", string.Join(",", Enumerable.Range(1, 21).Select(i => $"t{i}")));

        await ClickAsync("Save");

        FieldMessage("Tags").Should().Be("At most 20 tags.");
        _saves.Should().BeEmpty();
    }

    [Fact]
    public async Task ANewCustomerIsCreatedWithoutAVersionAndTheDialogCloses()
    {
        var dialog = await OpenAsync(Parameters(null));
        Type("Name", "  Ada Lovelace ");
        Type("Email", "ada@example.test");
        Type("Tags", "vip, b2b,,vip");
        _answer = UiResult<CustomerDetails>.Success(Customer("Ada Lovelace", 1));

        await ClickAsync("Save");

        var (fields, version) = _saves.Single();
        version.Should().BeNull();
        fields.Name.Should().Be("Ada Lovelace");
        fields.Email.Should().Be("ada@example.test");
        fields.Phone.Should().BeNull("an empty field is no value, as in the API");
        fields.Status.Should().Be(CustomerStatuses.Default);
        fields.Tags.Should().Equal("vip", "b2b");
        Snackbars.Should().ContainSingle().Which.Should().Contain("created");
        (await dialog.Result)!.Canceled.Should().BeFalse();
    }

    [Fact]
    public async Task AnEditSendsTheVersionItReadAndKeepsTheOwner()
    {
        var customer = Customer("Grace Hopper", 7) with { Tags = ["navy", "cobol"], OwnerUserId = Guid.NewGuid() };
        await OpenAsync(Parameters(customer));
        Field("Name").GetAttribute("value").Should().Be("Grace Hopper");
        Type("Company", "US Navy");
        _answer = UiResult<CustomerDetails>.Success(customer with { Company = "US Navy", Version = 8 });

        await ClickAsync("Save");

        var (fields, version) = _saves.Single();
        version.Should().Be(7);
        fields.Company.Should().Be("US Navy");
        fields.Tags.Should().Equal("navy", "cobol");
        fields.OwnerUserId.Should().Be(customer.OwnerUserId);
        Snackbars.Should().ContainSingle().Which.Should().Contain("saved");
    }

    [Fact]
    public async Task AVersionConflictSaysItChangedInTheMeantimeAndKeepsTheDialogOpen()
    {
        await OpenAsync(Parameters(Customer("Grace Hopper", 3)));
        _answer = UiResult<CustomerDetails>.Fail(Failure.PreconditionFailed, "Version 3 is not current.");

        await ClickAsync("Save");

        Snackbars.Should().ContainSingle().Which.Should().Contain("changed in the meantime");
        Provider.Find("[data-testid=customer-form-error]").TextContent.Should().Contain("changed in the meantime");
        Field("Name").Should().NotBeNull("the dialog stays open so the user can reload and edit again");
    }

    [Fact]
    public async Task ACanceledTenantsRefusalIsShown()
    {
        await OpenAsync(Parameters(null));
        Type("Name", "Ada");
        _answer = UiResult<CustomerDetails>.Fail(Failure.TenantCanceled, null);

        await ClickAsync("Save");

        Snackbars.Should().ContainSingle().Which.Should().Contain("read-only");
    }

    private DialogParameters<CustomerDialog> Parameters(CustomerDetails? customer) => new()
    {
        { d => d.Customer, customer },
        {
            d => d.Save, (fields, version) =>
            {
                _saves.Add((fields, version));
                return Task.FromResult(_answer ?? throw new InvalidOperationException("No answer set."));
            }
        },
    };

    private static CustomerDetails Customer(string name, int version) =>
        new(Guid.NewGuid(), name, null, null, null, "customer", [], null, null, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, version);
}
