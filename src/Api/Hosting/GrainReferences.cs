using Orleans.Metadata;

namespace Shohayota.Api.Hosting;

/// <summary>
/// <c>IGrainFactory.GetGrain&lt;T&gt;(key)</c> resolves T's grain interface type from its attributes on every call
/// (reflection: about 3 % of the hot read's CPU in its profile, bench/profiles/s1.md). This resolves it once per interface
/// and leaves the rest (grain type from the cluster's type map, the reference) to Orleans.
/// </summary>
public static class GrainReferences
{
    public static T Get<T>(IGrainFactory grains, IServiceProvider services, string key)
        where T : IGrainWithStringKey
    {
        var interfaceType = InterfaceTypeOf<T>.Boxed is { } boxed ? (GrainInterfaceType)boxed : Resolve<T>(services);
        // Not in the cluster's type map (yet): Orleans' own path, with its fallback.
        return services.GetRequiredService<GrainInterfaceTypeToGrainTypeResolver>().TryGetGrainType(interfaceType, out var grainType)
            ? (T)grains.GetGrain(GrainId.Create(grainType, key), interfaceType)
            : grains.GetGrain<T>(key);
    }

    private static GrainInterfaceType Resolve<T>(IServiceProvider services)
    {
        var interfaceType = services.GetRequiredService<GrainInterfaceTypeResolver>().GetGrainInterfaceType(typeof(T));
        InterfaceTypeOf<T>.Boxed = interfaceType;
        return interfaceType;
    }

    /// <summary>Boxed, so that it is published by one reference write (the type is the same on every host: attributes).</summary>
    private static class InterfaceTypeOf<T>
    {
        public static object? Boxed;
    }
}
