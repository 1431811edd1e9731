using AngleSharp.Dom;
using Shohayota.Api.Tenants;
using Shohayota.Api.Web.Admin;
using Shohayota.Api.Web.Components.Pages.Admin;

namespace Shohayota.Web.Tests.Admin;

public sealed class ProvisionFormTests : UiTestContext
{
    private readonly List<AdminTenantsApi.ProvisionBody> _sent = [];

    [Fact]
    public void AnEmptyFormShowsTheApisFieldErrorsAndSendsNothing()
    {
        var form = RenderForm(_ => Task.FromResult<SubmitFailure?>(null));

        Button(form, "Provision").Click();

        _sent.Should().BeEmpty();
        form.Markup.Should().Contain("A name is required.")
            .And.Contain("An e-mail address is required.")
            .And.Contain("The admin's name is required.")
            .And.Contain("Plan must be one of: free, pro.");
    }

    [Fact]
    public async Task AValidFormSendsTheRequestAsTyped()
    {
        var form = RenderForm(_ => Task.FromResult<SubmitFailure?>(null));
        await Fill(form);

        Button(form, "Provision").Click();

        _sent.Should().ContainSingle().Which.Should().Be(new AdminTenantsApi.ProvisionBody(
            "Acme", "ops@acme.test", "Ann Admin", "ann@acme.test", "Str0ng-Passw0rd!", "pro"));
        form.Markup.Should().NotContain("mud-input-error");
    }

    [Fact]
    public async Task AnInvalidEmailIsShownAndNothingIsSent()
    {
        var form = RenderForm(_ => Task.FromResult<SubmitFailure?>(null));
        await Fill(form);
        Input(form, "Admin email").Change("not-an-address");

        Button(form, "Provision").Click();

        _sent.Should().BeEmpty();
        form.Markup.Should().Contain("This is not a valid e-mail address.");
    }

    [Fact]
    public async Task AServerRefusalForAFieldIsShownBesideIt()
    {
        var form = RenderForm(_ => Task.FromResult<SubmitFailure?>(new SubmitFailure("adminEmail", "A user with this e-mail address already exists.")));
        await Fill(form);

        Button(form, "Provision").Click();

        form.WaitForAssertion(() => form.Markup.Should().Contain("A user with this e-mail address already exists."));
        form.FindAll("[data-testid=provision-error]").Should().BeEmpty();
    }

    [Fact]
    public async Task AServerRefusalWithoutAFieldIsShownAboveTheButtons()
    {
        var form = RenderForm(_ => Task.FromResult<SubmitFailure?>(new SubmitFailure(null, "Something went wrong on our side. Try again.")));
        await Fill(form);

        Button(form, "Provision").Click();

        form.WaitForAssertion(() => form.Find("[data-testid=provision-error]").TextContent.Should().Contain("Something went wrong"));
    }

    private IRenderedComponent<ProvisionForm> RenderForm(Func<AdminTenantsApi.ProvisionBody, Task<SubmitFailure?>> answer) =>
        Render<ProvisionForm>(p => p
            .Add(f => f.Plans, ["free", "pro"])
            .Add(f => f.Submit, body =>
            {
                _sent.Add(body);
                return answer(body);
            }));

    private static async Task Fill(IRenderedComponent<ProvisionForm> form)
    {
        Input(form, "Name").Change("Acme");
        Input(form, "Contact email").Change("ops@acme.test");
        Input(form, "Admin name").Change("Ann Admin");
        Input(form, "Admin email").Change("ann@acme.test");
        Input(form, "Admin password").Change("Str0ng-Passw0rd!");
        var plan = form.FindComponents<MudBlazor.MudSelect<string>>().Single().Instance;
        await form.InvokeAsync(() => plan.SelectOption("pro"));
    }

    internal static IElement Input(IRenderedComponent<ProvisionForm> form, string label) =>
        form.FindAll(".mud-input-control").Single(c => c.QuerySelector("label")?.TextContent.Trim() == label).QuerySelector("input")!;

    internal static IElement Button<T>(IRenderedComponent<T> rendered, string text)
        where T : Microsoft.AspNetCore.Components.IComponent =>
        rendered.FindAll("button").Single(b => b.TextContent.Trim() == text);
}
