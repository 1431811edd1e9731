using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Shohayota.Api.Errors;
using Shohayota.Grains;
using Shohayota.Grains.Hosting;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Security;
using Shohayota.Grains.Users;

namespace Shohayota.Api.Auth;

public static class AuthExtensions
{
    public const string SuperAdminPolicy = "super_admin";
    public const string TenantAdminPolicy = "tenant_admin";
    public const string TenantUserPolicy = "tenant_user";
    public const string AnyUserPolicy = "any_user";
    public const string AuditReaderPolicy = "audit_reader";

    /// <summary>A tenant admin signed in as themselves (no API key, no support session): API keys, support access, settings.</summary>
    public const string TenantAdminInPersonPolicy = "tenant_admin_in_person";
    public const string SelectorScheme = "shohayota";

    public static WebApplicationBuilder AddShohayotaAuth(this WebApplicationBuilder builder)
    {
        var key = SigningKey.Load(builder.Configuration);
        builder.Services.AddSingleton(key);
        builder.Services.AddSingleton<TokenIssuer>();
        builder.Services.AddSingleton<AccessTokenCache>();
        builder.Services.AddSingleton<SignInMonitor>();
        builder.Services.AddOptions<SignInAuditOptions>().BindConfiguration(SignInAuditOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<UnknownEmailAudit>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<UnknownEmailAudit>());
        builder.Services.AddSingleton<SignInService>();
        builder.Services.AddSingleton<SignInThrottle>();
        builder.Services.AddPasswordHashGate();
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        // API routes take bearer tokens only; every other path (the web UI) takes the UI's cookie only, so a browser's
        // cookie can never authorize an API call (no CSRF surface on the API).
        builder.Services.AddAuthentication(SelectorScheme)
            .AddPolicyScheme(SelectorScheme, "Bearer token or API key (API), cookie (UI)", o => o.ForwardDefaultSelector = context =>
                !context.Request.Path.StartsWithSegments("/api") ? Web.UiAuth.CookieScheme
                : ApiKeyAuthenticationHandler.Presents(context.Request) ? ApiKeyAuthenticationHandler.SchemeName
                : JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer()
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddOptions<ApiKeyOptions>().BindConfiguration(ApiKeyOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ApiKeyCache>();
        builder.Services.AddSingleton<SupportSessionCache>();
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<IOptions<AuthOptions>, TimeProvider, AccessTokenCache>((jwt, auth, time, cache) =>
        {
            jwt.MapInboundClaims = false;
            // Validates each token in full once, then reuses its identity until the token expires (AccessTokenCache).
            jwt.TokenHandlers.Clear();
            jwt.TokenHandlers.Add(cache);
            jwt.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = auth.Value.Issuer,
                ValidAudience = auth.Value.Audience,
                IssuerSigningKey = key.Key,
                ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                ValidTypes = [TokenIssuer.TokenType],
                ClockSkew = TimeSpan.Zero,
                RequireExpirationTime = true,
                RequireSignedTokens = true,
                NameClaimType = JwtRegisteredClaimNames.Sub,
                RoleClaimType = TokenIssuer.RoleClaim,
                // Lifetimes are checked on the same clock that issues tokens (tests move it), with no skew.
                LifetimeValidator = (notBefore, expires, _, _) =>
                {
                    var now = time.GetUtcNow().UtcDateTime;
                    return expires is { } exp && exp > now && (notBefore is not { } nbf || nbf <= now);
                },
            };
            jwt.Events = new JwtBearerEvents
            {
                // A support session's token stands only while the session does: checked on every request, from this node's
                // recent lookup of the session (SupportSessionCache, at most MaxAge old).
                OnTokenValidated = async context =>
                {
                    if (context.Principal?.Identity is TokenIdentity { Caller.SupportSession: { } session } token &&
                        !await context.HttpContext.RequestServices.GetRequiredService<SupportSessionCache>().IsActiveAsync(token.Caller.TenantId, session))
                    {
                        context.HttpContext.Items[SupportSessionCache.EndedKey] = true;
                        context.Fail("This support session has ended.");
                    }
                },
                OnChallenge = async context =>
                {
                    context.HandleResponse();
                    await WriteProblemAsync(context.HttpContext, Problems.Create(401, "unauthorized", "Unauthorized",
                        context.HttpContext.Items.ContainsKey(SupportSessionCache.EndedKey)
                            ? "This support session has ended."
                            : "A valid bearer access token is required."));
                },
                OnForbidden = context => WriteProblemAsync(context.HttpContext, Problems.Create(403, "forbidden", "Forbidden",
                    "Your role may not use this endpoint.")),
            };
        });
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(SuperAdminPolicy, p => p.RequireRole(Roles.SuperAdmin))
            .AddPolicy(TenantAdminPolicy, p => p.RequireRole(Roles.TenantAdmin))
            .AddPolicy(TenantUserPolicy, p => p.RequireRole(Roles.TenantAdmin, Roles.Member))
            .AddPolicy(AuditReaderPolicy, p => p.RequireRole(Roles.SuperAdmin, Roles.TenantAdmin))
            .AddPolicy(TenantAdminInPersonPolicy, p => p.RequireRole(Roles.TenantAdmin).RequireAssertion(c => IsPerson(c.User)))
            // The caller's own account (who am I, password, sessions): the person signed in, never an API key or a support session.
            .AddPolicy(AnyUserPolicy, p => p.RequireRole(Roles.SuperAdmin, Roles.TenantAdmin, Roles.Member).RequireAssertion(c => IsPerson(c.User)));
        return builder;
    }

    /// <summary>Signed in as oneself: not an API key, not a super-admin acting as a user in a support session.</summary>
    /// <remarks>Runs for anonymous requests too (every requirement of a policy is evaluated): it reads claims, never parses a caller.</remarks>
    public static bool IsPerson(ClaimsPrincipal user) =>
        user.Identity is { IsAuthenticated: true } and not ApiKeyIdentity && !user.HasClaim(c => c.Type == TokenIssuer.SupportSessionClaim);

    private static Task WriteProblemAsync(HttpContext context, Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult problem) => problem.ExecuteAsync(context);

    /// <summary>
    /// Signs this request's caller (from the validated token) for the grain calls that follow; <paramref name="admitted"/>
    /// after its TenantGrain admitted the request, so the grains need not ask again.
    /// </summary>
    public static Caller EnterCaller(this HttpContext http, bool admitted = false)
    {
        var caller = http.User.ToCaller();
        http.RequestServices.GetRequiredService<CallerSigner>().Enter(caller, admitted ? caller.TenantId : null);
        return caller;
    }

    /// <summary>The authenticated caller of this request, from the validated token only (parsed once per token).</summary>
    public static Caller ToCaller(this ClaimsPrincipal user) =>
        user.Identity is TokenIdentity token ? token.Caller : user.Identity is ApiKeyIdentity key ? key.Caller : ParseCaller(user);

    /// <summary>The token's tenant claim, if any and valid (a super-admin's token has none); null when not authenticated.</summary>
    public static Guid? TenantClaim(this ClaimsPrincipal user) =>
        user.Identity is TokenIdentity token ? token.TenantClaim
        : user.Identity is ApiKeyIdentity key ? key.Match.TenantId
        : user.Identity?.IsAuthenticated == true ? ParseTenantClaim(user.FindFirst(TokenIssuer.TenantClaim)?.Value)
        : null;

    internal static Guid? ParseTenantClaim(ClaimsIdentity identity) => ParseTenantClaim(identity.FindFirst(TokenIssuer.TenantClaim)?.Value);

    private static Guid? ParseTenantClaim(string? value) => Guid.TryParse(value, out var id) ? id : null;

    internal static Caller ParseCaller(ClaimsIdentity identity) => ParseCaller(new ClaimsPrincipal(identity));

    private static Caller ParseCaller(ClaimsPrincipal user)
    {
        var role = user.FindFirstValue(TokenIssuer.RoleClaim) ?? "";
        var tenant = role == Roles.SuperAdmin ? GrainKeys.SystemTenant : Guid.Parse(user.FindFirstValue(TokenIssuer.TenantClaim)!);
        Guid? support = Guid.TryParse(user.FindFirstValue(TokenIssuer.SupportSessionClaim), out var session) && role != Roles.SuperAdmin ? session : null;
        return new Caller(tenant, Guid.Parse(user.FindFirstValue(JwtRegisteredClaimNames.Sub)!), role, user.FindFirstValue(JwtRegisteredClaimNames.Email),
            SupportSession: support, SupportBy: support is null ? null : user.FindFirstValue(TokenIssuer.SupportByClaim));
    }
}

/// <summary>The HMAC key that signs access tokens: from configuration, or generated once under the data directory.</summary>
public sealed class SigningKey(SymmetricSecurityKey key)
{
    public SymmetricSecurityKey Key => key;

    public static SigningKey Load(IConfiguration configuration)
    {
        var bytes = LocalSecret.LoadOrCreate(configuration, "Shohayota:Auth:SigningKey", "jwt-signing.key");
        return new SigningKey(new SymmetricSecurityKey(bytes) { KeyId = Convert.ToHexString(SHA256.HashData(bytes))[..16] });
    }
}

public sealed class TokenIssuer(SigningKey key, IOptions<AuthOptions> options, TimeProvider time)
{
    public const string TokenType = "at+jwt";
    public const string RoleClaim = "role";
    public const string TenantClaim = "tid";

    /// <summary>A support session's token: the session's id, and the super-admin acting as the user.</summary>
    public const string SupportSessionClaim = "ssid";
    public const string SupportByClaim = "support_by";
    private readonly JsonWebTokenHandler _handler = new();

    public (string Token, int ExpiresIn) Issue(Grains.Interfaces.Users.UserDetails user) => Issue(user, options.Value.AccessTokenLifetime, null);

    /// <summary>A token acting as the session's user until the session expires (ending it refuses the token sooner).</summary>
    public (string Token, int ExpiresIn) IssueSupport(Grains.Interfaces.Users.UserDetails user, Grains.Interfaces.Support.SupportSessionDetails session) =>
        Issue(user, session.ExpiresAt - time.GetUtcNow(), session);

    private (string Token, int ExpiresIn) Issue(Grains.Interfaces.Users.UserDetails user, TimeSpan lifetime, Grains.Interfaces.Support.SupportSessionDetails? session)
    {
        var now = time.GetUtcNow();
        var claims = new Dictionary<string, object>
        {
            [JwtRegisteredClaimNames.Sub] = user.Id.ToString("D"),
            [JwtRegisteredClaimNames.Email] = user.Email,
            [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
            [RoleClaim] = user.Role,
        };
        if (user.Role != Roles.SuperAdmin)
        {
            claims[TenantClaim] = user.TenantId.ToString("D");
        }

        if (session is not null)
        {
            claims[SupportSessionClaim] = session.Id.ToString("D");
            claims[SupportByClaim] = session.OpenedByEmail;
        }

        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Value.Issuer,
            Audience = options.Value.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = now.Add(lifetime).UtcDateTime,
            Claims = claims,
            TokenType = TokenType,
            SigningCredentials = new SigningCredentials(key.Key, SecurityAlgorithms.HmacSha256),
        });
        return (token, (int)lifetime.TotalSeconds);
    }
}
