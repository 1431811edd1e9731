using Npgsql;
using Shohayota.Grains.Tests;

// Outside the Shohayota namespace on purpose: the tenant-isolation filter asks a grain outside it only for a signed caller
// when a cluster client calls (the test signs one), not for the tenant checks of our own interfaces.
namespace TestGrains.ExceptionTransport;

public interface IFailingGrain : IGrainWithStringKey
{
    Task FailAsync(bool asInnerException);
}

/// <summary>Throws what a grain's database work can throw when a connection is misused or lost.</summary>
public sealed class FailingGrain : Grain, IFailingGrain
{
    public Task FailAsync(bool asInnerException)
    {
        var database = new NpgsqlOperationInProgressException(new NpgsqlCommand("SELECT 1"));
        throw asInnerException ? new InvalidOperationException("Activation failed.", database) : database;
    }
}

[Collection(ClusterCollection.Name)]
public sealed class ExceptionTransportTests(ClusterFixture fixture)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ADatabaseExceptionReachesTheCallerAsItselfNotAsACodecFailure(bool asInnerException)
    {
        var call = () => fixture.Grains.GetGrain<IFailingGrain>($"failing/{Guid.NewGuid():N}").FailAsync(asInnerException);
        // A grain outside our namespace answers a cluster client only for a caller signed by the cluster, as a front end sends.
        ClusterFixture.AsSuperAdmin();

        var thrown = (await call.Should().ThrowAsync<Exception>()).Which;
        RequestContext.Clear();

        thrown.Should().NotBeOfType<Orleans.Serialization.CodecNotFoundException>();
        var database = asInnerException ? thrown.InnerException : thrown;
        database.Should().BeAssignableTo<NpgsqlException>("the front end answers database failures with 503, anything else with 500");
    }
}
