using System.Diagnostics;

namespace Shohayota.Grains.Diagnostics;

/// <summary>The tenant a traced request or grain call acts for, as a span attribute (nothing happens unless it is recorded).</summary>
public static class TenantSpans
{
    public const string Tag = "tenant.id";

    public static void Set(Guid tenantId)
    {
        if (Activity.Current is { IsAllDataRequested: true } span)
        {
            span.SetTag(Tag, tenantId.ToString("D"));
        }
    }
}
