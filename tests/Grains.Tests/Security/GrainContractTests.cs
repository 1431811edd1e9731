using System.Reflection;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Grains.Tests.Security;

/// <summary>Public grain contracts carry typed requests only: nothing a cluster client sends is run as SQL.</summary>
public sealed class GrainContractTests
{
    [Fact]
    public void NoPublicGrainMethodTakesSqlTextOrAStatement()
    {
        var methods = typeof(ITenantGrain).Assembly.GetExportedTypes()
            .Where(t => t.IsInterface && typeof(IGrain).IsAssignableFrom(t))
            .SelectMany(t => t.GetMethods())
            .ToList();

        methods.Should().NotBeEmpty();
        methods.SelectMany(SqlIn).Should().BeEmpty();
    }

    [Fact]
    public void TheCheckFindsTheOldStatementBatchContract()
    {
        var found = typeof(IOldAuditLogGrain).GetMethods().SelectMany(SqlIn).ToList();

        found.Should().BeEquivalentTo(
            "IOldAuditLogGrain.ExecuteAsync(change.Statements): SqlStatement",
            "IOldAuditLogGrain.RunAsync(query): string named query");
    }

    /// <summary>Parameter types named *Sql*/*Statement*, or strings named sql/query/statement, into records' properties.</summary>
    private static IEnumerable<string> SqlIn(MethodInfo method) =>
        method.GetParameters().SelectMany(p => SqlIn(p.ParameterType, p.Name!, $"{method.DeclaringType!.Name}.{method.Name}({p.Name}", []));

    private static IEnumerable<string> SqlIn(Type type, string name, string path, HashSet<Type> seen)
    {
        var element = type.IsArray ? type.GetElementType()! : Nullable.GetUnderlyingType(type) ?? type;
        if (element != type || element.IsGenericType)
        {
            foreach (var inner in element != type ? [element] : element.GetGenericArguments())
            {
                foreach (var found in SqlIn(inner, name, path, seen))
                {
                    yield return found;
                }
            }

            if (element != type || !element.IsGenericType)
            {
                yield break;
            }
        }

        if (type == typeof(string))
        {
            if (name.Equals("sql", StringComparison.OrdinalIgnoreCase) || name.Equals("query", StringComparison.OrdinalIgnoreCase) ||
                name.Equals("statement", StringComparison.OrdinalIgnoreCase) || name.Equals("statements", StringComparison.OrdinalIgnoreCase))
            {
                yield return $"{path}): string named {name}";
            }

            yield break;
        }

        if (type.Name.Contains("Sql", StringComparison.OrdinalIgnoreCase) || type.Name.Contains("Statement", StringComparison.OrdinalIgnoreCase))
        {
            yield return $"{path}): {type.Name}";
            yield break;
        }

        if (type.Namespace?.StartsWith("Shohayota", StringComparison.Ordinal) != true || type.IsEnum || !seen.Add(type))
        {
            yield break;
        }

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            foreach (var found in SqlIn(property.PropertyType, property.Name, $"{path}.{property.Name}", seen))
            {
                yield return found;
            }
        }
    }

    /// <summary>The shape the audit log's public contract had before its statement batches became internal.</summary>
    public interface IOldAuditLogGrain
    {
        Task ExecuteAsync(OldAuditedChange change);

        Task RunAsync(string query);
    }

    public sealed record OldAuditedChange(IReadOnlyList<SqlStatement> Statements, IReadOnlyList<string> Entries);

    public sealed record SqlStatement(string Sql, object?[] Parameters);
}
