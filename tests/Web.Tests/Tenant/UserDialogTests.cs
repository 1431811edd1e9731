using MudBlazor;
using Shohayota.Api.Web;
using Shohayota.Api.Web.Components.Pages.Tenant;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Users;
using Shohayota.Grains.Security;

namespace Shohayota.Web.Tests.Tenant;

public sealed class UserDialogTests : DialogTestContext
{
    private readonly List<CreateUserRequest> _requests = [];
    private UiResult<UserDetails>? _answer;

    [Fact]
    public async Task APasswordBreakingTheRulesIsShownNextToTheField()
    {
        await OpenAsync(Parameters());
        Type("Email", "new@tenant.test");
        Type("Name", "New User");
        Type("Password", "short");

        await ClickAsync("Create");

        FieldMessage("Password").Should().Be(PasswordHashing.Validate("short")).And.NotBeEmpty();
        _requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData("Password123", "most commonly used passwords")]
    [InlineData("NEW-USER@tenant.test", "e-mail address")]
    public async Task ACommonPasswordOrTheEmailAsPasswordIsShownNextToTheField(string password, string message)
    {
        await OpenAsync(Parameters());
        Type("Email", "new-user@tenant.test");
        Type("Name", "New User");
        Type("Password", password);

        await ClickAsync("Create");

        FieldMessage("Password").Should().Contain(message);
        _requests.Should().BeEmpty();
    }

    [Fact]
    public async Task ATakenEmailIsShownNextToTheEmailField()
    {
        await OpenAsync(Parameters());
        Type("Email", "taken@tenant.test");
        Type("Name", "New User");
        Type("Password", "a-long-enough-password");
        _answer = UiResult<UserDetails>.Fail(Failure.DuplicateEmail, "A user with this e-mail address exists.");

        await ClickAsync("Create");

        _requests.Should().ContainSingle().Which.Role.Should().Be(Roles.Member, "members are the default, as in the API");
        FieldMessage("Email").Should().Be("A user with this e-mail address exists.");
    }

    private DialogParameters<UserDialog> Parameters() => new()
    {
        {
            d => d.Create, request =>
            {
                _requests.Add(request);
                return Task.FromResult(_answer ?? throw new InvalidOperationException("No answer set."));
            }
        },
    };
}
