using Npgsql;

namespace Shohayota.Grains.Cluster;

// Orleans serializes exceptions of System/Microsoft types only; an NpgsqlException thrown by a grain on another silo
// reached the caller as a CodecNotFoundException (a 500) instead of a database outage (a 503). These surrogates carry
// Npgsql's exceptions between silos with their type and SQLSTATE, so the front end maps them the same on every node.

[GenerateSerializer, Immutable, Alias("NpgsqlExceptionSurrogate")]
public readonly record struct NpgsqlExceptionSurrogate([property: Id(0)] string Message, [property: Id(1)] string? Inner);

[RegisterConverter]
public sealed class NpgsqlExceptionConverter : IConverter<NpgsqlException, NpgsqlExceptionSurrogate>
{
    public NpgsqlException ConvertFromSurrogate(in NpgsqlExceptionSurrogate surrogate) =>
        surrogate.Inner is null ? new NpgsqlException(surrogate.Message) : new NpgsqlException(surrogate.Message, new InvalidOperationException(surrogate.Inner));

    // The inner exception (a socket or stream error) travels as text: its type may be one Orleans cannot serialize either.
    public NpgsqlExceptionSurrogate ConvertToSurrogate(in NpgsqlException value) =>
        new(value.Message, value.InnerException is { } inner ? $"{inner.GetType().FullName}: {inner.Message}" : null);
}

[GenerateSerializer, Immutable, Alias("PostgresExceptionSurrogate")]
public readonly record struct PostgresExceptionSurrogate(
    [property: Id(0)] string MessageText,
    [property: Id(1)] string Severity,
    [property: Id(2)] string InvariantSeverity,
    [property: Id(3)] string SqlState,
    [property: Id(4)] string? TableName,
    [property: Id(5)] string? ConstraintName);

[RegisterConverter]
public sealed class PostgresExceptionConverter : IConverter<PostgresException, PostgresExceptionSurrogate>
{
    public PostgresException ConvertFromSurrogate(in PostgresExceptionSurrogate s) =>
        new(s.MessageText, s.Severity, s.InvariantSeverity, s.SqlState, null, null, 0, 0, null, null, null, s.TableName, null, null, s.ConstraintName, null, null, null);

    public PostgresExceptionSurrogate ConvertToSurrogate(in PostgresException value) =>
        new(value.MessageText, value.Severity, value.InvariantSeverity, value.SqlState, value.TableName, value.ConstraintName);
}
