using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Shohayota.Cluster.Tests.Infrastructure;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Shohayota.Cluster.Tests.Deployment;

/// <summary>docker-compose.yml cannot run here (no Docker); it is checked for shape and for configuration drift.</summary>
public sealed partial class DockerComposeTests
{
    private static readonly Lazy<Dictionary<string, Dictionary<object, object>>> Services = new(LoadServices);

    [Fact]
    public void ComposeFileRunsPostgresTwoNodesAndALoadBalancer()
    {
        var services = Services.Value;

        services.Should().ContainKey("postgres");
        ((string)services["postgres"]["image"]).Should().StartWith("postgres:15");
        NodeServices().Should().HaveCountGreaterThanOrEqualTo(2);
        var lb = services.Values.Single(s => s.TryGetValue("image", out var image) && ((string)image).StartsWith("nginx", StringComparison.Ordinal));
        ((List<object>)lb["volumes"]).Cast<string>().Should().Contain(v => v.StartsWith("./deploy/nginx.conf:", StringComparison.Ordinal));
        ((List<object>)lb["ports"]).Should().NotBeEmpty();
        File.Exists(Path.Combine(AppConfiguration.RepositoryRoot(), "deploy", "nginx.conf")).Should().BeTrue();
        File.Exists(Path.Combine(AppConfiguration.RepositoryRoot(), "deploy", "postgres-init.sh")).Should().BeTrue();
    }

    [Fact]
    public void EveryVariableTheNodesSetIsAConfigurationKeyTheAppReads()
    {
        var variables = NodeServices().SelectMany(s => Environment(s.Value).Keys).Distinct().ToList();

        var unread = variables.Where(v => !AppConfiguration.Reads(AppConfiguration.KeyOf(v))).ToList();

        variables.Should().Contain("ConnectionStrings__Shohayota");
        unread.Should().BeEmpty("docker-compose.yml may only set keys the app reads; known keys:\n{0}", string.Join("\n", AppConfiguration.Patterns));
    }

    [Fact]
    public void EveryVariableTheNodesSetIsInTheReadmeConfigurationTable()
    {
        var documented = ReadmeConfigurationKeys();
        var variables = NodeServices().SelectMany(s => Environment(s.Value).Keys).Distinct().ToList();

        var undocumented = variables.Where(v => !documented.Any(d => AppConfiguration.Matches(d, AppConfiguration.KeyOf(v)))).ToList();

        undocumented.Should().BeEmpty("docker-compose.yml uses the README's configuration names; documented:\n{0}", string.Join("\n", documented));
    }

    [Theory]
    [InlineData("Shohayota:Cluster:SiloPort")]
    [InlineData("Shohayota:Cluster:Mode")]
    [InlineData("Shohayota:Cluster:ShutdownTimeout")]
    [InlineData("Shohayota:Cluster:Membership:ProbeTimeout")]
    [InlineData("Shohayota:Plans:gold:Customers")]
    [InlineData("Shohayota:Database:Port")]
    [InlineData("ConnectionStrings:ShohayotaAdmin")]
    [InlineData("Urls")]
    public void ConfigurationCheckKnowsKeysTheAppReads(string key)
    {
        var reads = AppConfiguration.Reads(key);

        reads.Should().BeTrue();
    }

    [Theory]
    [InlineData("Shohayota:Cluster:Bogus")]
    [InlineData("Shohayota:Clusters:SiloPort")]
    [InlineData("Shohayota:Plans:gold:Bogus")]
    [InlineData("ConnectionStrings:Other")]
    [InlineData("Orleans:ClusterId")]
    public void ConfigurationCheckRejectsKeysTheAppDoesNotRead(string key)
    {
        var reads = AppConfiguration.Reads(key);

        reads.Should().BeFalse();
    }

    [Fact]
    public void LoadBalancerSendsToEveryNodesHttpPort()
    {
        var nginx = File.ReadAllText(Path.Combine(AppConfiguration.RepositoryRoot(), "deploy", "nginx.conf"));

        var upstreams = UpstreamBlock().Matches(nginx).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

        var nodes = NodeServices().Select(s => $"{s.Key}:{new Uri(Environment(s.Value)["ASPNETCORE_URLS"].Replace("0.0.0.0", "host", StringComparison.Ordinal)).Port}");
        upstreams.Keys.Should().BeEquivalentTo(["shohayota", "shohayota_ui"], "the API is balanced per request, the UI per browser");
        upstreams.Should().AllSatisfy(u =>
            UpstreamServer().Matches(u.Value).Select(m => m.Groups[1].Value).Should().BeEquivalentTo(nodes, "upstream {0} lists every node", u.Key));
        upstreams["shohayota_ui"].Should().Contain("ip_hash", "a Blazor circuit's requests must reach the node that holds it");
    }

    [Fact]
    public void NodesShareTheClusterAndSigningKeyButEachAdvertisesItsOwnAddressAndName()
    {
        var nodes = NodeServices().Select(s => (Name: s.Key, Environment: Environment(s.Value), Service: s.Value)).ToList();

        foreach (var shared in new[] { "Shohayota__Cluster__ClusterId", "Shohayota__Cluster__ServiceId", "Shohayota__Auth__SigningKey", "Shohayota__Cluster__CallerKeys", "Shohayota__Ui__KeyEncryptionKey", "Shohayota__Backups__SigningKey", "ConnectionStrings__Shohayota" })
        {
            nodes.Select(n => n.Environment[shared]).Distinct().Should().ContainSingle(shared);
        }

        nodes.Select(n => n.Environment["Shohayota__Cluster__SiloName"]).Should().OnlyHaveUniqueItems();
        nodes.Should().AllSatisfy(n =>
        {
            var networks = (Dictionary<object, object>)n.Service["networks"];
            var address = ((Dictionary<object, object>)networks.Values.Single())["ipv4_address"];
            n.Environment["Shohayota__Cluster__AdvertisedAddress"].Should().Be((string)address, "silos reach {0} on the address it advertises", n.Name);
        });
    }

    [Fact]
    public void EveryNodeSpeaksMutualTlsWithItsOwnCertificateFromTheDevelopmentScript()
    {
        var nodes = NodeServices().Select(s => (Name: s.Key, Environment: Environment(s.Value), Mounts: Mounts(s.Value))).ToList();

        File.ReadAllText(Path.Combine(AppConfiguration.RepositoryRoot(), "docker-compose.yml")).Should().NotContain("AllowInsecureTransport");
        File.ReadAllLines(Path.Combine(AppConfiguration.RepositoryRoot(), ".gitignore")).Should().Contain(CertificateFolder + "/", "generated keys are never committed");
        nodes.Should().AllSatisfy(n =>
        {
            n.Environment.Keys.Should().NotContain(k => k.Contains("AllowInsecureTransport", StringComparison.OrdinalIgnoreCase));
            MountedFrom(n, "Shohayota__Cluster__Tls__CertificatePath").Should().Be($"./{CertificateFolder}/{n.Name}.pem");
            MountedFrom(n, "Shohayota__Cluster__Tls__KeyPath").Should().Be($"./{CertificateFolder}/{n.Name}.key");
            MountedFrom(n, "Shohayota__Cluster__Tls__AuthorityPath").Should().Be($"./{CertificateFolder}/ca.pem");
        });
    }

    [Fact]
    public async Task TheDevelopmentScriptMakesEveryFileTheComposeFileMountsAndTheCertificatesChainToItsAuthority()
    {
        var nodes = NodeServices().Select(s => (Name: s.Key, Environment: Environment(s.Value), Mounts: Mounts(s.Value))).ToList();
        var directory = Path.Combine(Path.GetTempPath(), "shohayota-dev-certs-" + Guid.NewGuid().ToString("N"));
        try
        {
            var output = await DevCertificates.MakeAsync(directory, nodes.Select(n => n.Name));

            using var authority = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(directory, "ca.pem"));
            nodes.Should().AllSatisfy(n =>
            {
                foreach (var key in new[] { "Shohayota__Cluster__Tls__CertificatePath", "Shohayota__Cluster__Tls__KeyPath", "Shohayota__Cluster__Tls__AuthorityPath" })
                {
                    File.Exists(Path.Combine(directory, Path.GetFileName(MountedFrom(n, key)))).Should().BeTrue(output);
                }

                using var certificate = X509Certificate2.CreateFromPemFile(Path.Combine(directory, n.Name + ".pem"), Path.Combine(directory, n.Name + ".key"));
                certificate.HasPrivateKey.Should().BeTrue();
                certificate.Subject.Should().Be($"CN={n.Name}");
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(authority);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                chain.Build(certificate).Should().BeTrue(string.Join(", ", chain.ChainStatus.Select(c => c.StatusInformation)));
            });
            (File.GetUnixFileMode(Path.Combine(directory, "ca.key")) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)).Should().Be(UnixFileMode.None);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private const string CertificateFolder = "deploy/certs";

    /// <summary>The host file mounted at the container path the node's setting <paramref name="variable"/> names.</summary>
    private static string MountedFrom((string Name, Dictionary<string, string> Environment, Dictionary<string, string> Mounts) node, string variable)
    {
        node.Environment.Should().ContainKey(variable, "node {0} must configure TLS", node.Name);
        node.Mounts.Should().ContainKey(node.Environment[variable], "node {0} must mount the file {1} names", node.Name, variable);
        return node.Mounts[node.Environment[variable]];
    }

    /// <summary>Bind mounts of a service: container path to host path.</summary>
    private static Dictionary<string, string> Mounts(Dictionary<object, object> service) =>
        ((List<object>)service.GetValueOrDefault("volumes", new List<object>())).Cast<string>()
            .Select(v => v.Split(':'))
            .Where(p => p.Length >= 2 && p[0].StartsWith('.'))
            .ToDictionary(p => p[1], p => p[0]);

    /// <summary>Services that run the app: built from this repository's Dockerfile.</summary>
    private static List<KeyValuePair<string, Dictionary<object, object>>> NodeServices() =>
        Services.Value.Where(s => s.Value.ContainsKey("build")).ToList();

    private static Dictionary<string, string> Environment(Dictionary<object, object> service) => service.GetValueOrDefault("environment") switch
    {
        Dictionary<object, object> map => map.ToDictionary(p => (string)p.Key, p => p.Value?.ToString() ?? ""),
        List<object> list => list.Cast<string>().Select(e => e.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : ""),
        _ => [],
    };

    private static Dictionary<string, Dictionary<object, object>> LoadServices()
    {
        using var reader = new StringReader(File.ReadAllText(Path.Combine(AppConfiguration.RepositoryRoot(), "docker-compose.yml")));
        // The merging parser applies YAML merge keys (<<: *node), as docker compose does.
        var document = new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(new MergingParser(new Parser(reader)));
        return ((Dictionary<object, object>)document["services"]).ToDictionary(p => (string)p.Key, p => (Dictionary<object, object>)p.Value);
    }

    /// <summary>The first column of the README's configuration table, with <c>{plan}</c> as <c>*</c> and <c>{A,B}</c> and <c>`X:A` / `B`</c> expanded.</summary>
    private static List<string> ReadmeConfigurationKeys()
    {
        var readme = File.ReadAllLines(Path.Combine(AppConfiguration.RepositoryRoot(), "README.md"));
        var start = Array.FindIndex(readme, l => l.Trim() == "## Configuration");
        var keys = new List<string>();
        foreach (var line in readme.Skip(start + 1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal)).Where(l => l.StartsWith("| `", StringComparison.Ordinal)))
        {
            var cell = line.Split('|')[1];
            string? section = null;
            foreach (var token in Regex.Matches(cell, "`([^`]+)`").Select(m => m.Groups[1].Value))
            {
                var key = token.Contains(':', StringComparison.Ordinal) ? token : section is null ? token : $"{section}:{token}";
                section = key.Contains(':', StringComparison.Ordinal) ? key[..key.LastIndexOf(':')] : null;
                keys.AddRange(Expand(Placeholder().Replace(key, "*")));
            }
        }

        return keys;
    }

    private static IEnumerable<string> Expand(string key)
    {
        var braces = Regex.Match(key, "\\{([^}]+)\\}");
        return braces.Success
            ? braces.Groups[1].Value.Split(',').SelectMany(option => Expand(key.Replace(braces.Value, option.Trim(), StringComparison.Ordinal)))
            : [key];
    }

    [GeneratedRegex("\\{[a-z]+\\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex("^\\s*server\\s+([\\w.-]+:\\d+)", RegexOptions.Multiline)]
    private static partial Regex UpstreamServer();

    [GeneratedRegex("upstream\\s+(\\w+)\\s*\\{([^}]*)\\}")]
    private static partial Regex UpstreamBlock();
}
