using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Shohayota.Cluster.Tests.Infrastructure;

namespace Shohayota.Cluster.Tests.Cluster;

/// <summary>
/// An Api node and a standalone silo with certificates from scripts/dev-certs.sh, and a client node with a PKCS#12 certificate from the same development CA.
/// </summary>
public sealed class TlsCluster : IAsyncLifetime
{
    private const string Password = "pfx-password";
    private string _directory = null!;

    public LocalCluster Cluster { get; private set; } = null!;

    public ClusterNode Api { get; private set; } = null!;

    public ClusterNode Silo { get; private set; } = null!;

    public ClusterNode Client { get; private set; } = null!;

    /// <summary>The standalone silo's address (tests send nothing off the loopback; the rule for other addresses is in TransportSecurityTests).</summary>
    public IPAddress SiloAddress { get; } = IPAddress.Loopback;

    /// <summary>The script's development CA, with its key.</summary>
    public X509Certificate2 Authority { get; private set; } = null!;

    /// <summary>Issued by the cluster's authority, like the nodes' own.</summary>
    public X509Certificate2 Trusted { get; private set; } = null!;

    /// <summary>Issued by another authority.</summary>
    public X509Certificate2 Foreign { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await LocalCluster.CreateAsync();
        _directory = Path.Combine(Cluster.Database.Directory, "tls");
        var apiName = Cluster.NextName(NodeKind.Api);
        await DevCertificates.MakeAsync(_directory, [apiName]);
        Authority = X509Certificate2.CreateFromPemFile(Path.Combine(_directory, "ca.pem"), Path.Combine(_directory, "ca.key"));
        Trusted = Issue(Authority, "test-peer");
        using (var other = CreateAuthority("Some other CA"))
        {
            Foreign = Issue(other, "intruder");
        }

        Api = await Cluster.StartAsync(NodeKind.Api, PemFiles(apiName));
        // A second run adds a node to the same CA.
        var siloName = Cluster.NextName(NodeKind.Silo);
        await DevCertificates.MakeAsync(_directory, [siloName]);
        Silo = await Cluster.StartAsync(NodeKind.Silo, [.. PemFiles(siloName), $"--Shohayota:Cluster:AdvertisedAddress={SiloAddress}"]);
        var clientName = Cluster.NextName(NodeKind.Client);
        var pfx = Path.Combine(_directory, clientName + ".pfx");
        using (var client = Issue(Authority, clientName))
        {
            await File.WriteAllBytesAsync(pfx, client.Export(X509ContentType.Pkcs12, Password));
        }

        Client = await Cluster.StartAsync(NodeKind.Client,
        [
            $"--Shohayota:Cluster:Tls:CertificatePath={pfx}",
            $"--Shohayota:Cluster:Tls:CertificatePassword={Password}",
            $"--Shohayota:Cluster:Tls:AuthorityPath={Path.Combine(_directory, "ca.pem")}",
        ]);
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Authority?.Dispose();
        Trusted?.Dispose();
        Foreign?.Dispose();
    }

    private string[] PemFiles(string name) =>
    [
        $"--Shohayota:Cluster:Tls:CertificatePath={Path.Combine(_directory, name + ".pem")}",
        $"--Shohayota:Cluster:Tls:KeyPath={Path.Combine(_directory, name + ".key")}",
        $"--Shohayota:Cluster:Tls:AuthorityPath={Path.Combine(_directory, "ca.pem")}",
    ];

    private static X509Certificate2 CreateAuthority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
    }

    private static X509Certificate2 Issue(X509Certificate2 authority, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        using var issued = request.Create(authority, Max(authority.NotBefore, DateTime.UtcNow.AddHours(-1)), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(12));
        return issued.CopyWithPrivateKey(key);
    }

    // Not before the authority itself (the script's CA starts now).
    private static DateTimeOffset Max(DateTime authorityNotBefore, DateTime earliest) =>
        new(authorityNotBefore.ToUniversalTime() > earliest ? authorityNotBefore.ToUniversalTime() : earliest, TimeSpan.Zero);
}

public sealed class ClusterTlsTests(TlsCluster nodes) : IClassFixture<TlsCluster>
{
    [Fact]
    public async Task NodesWithCertificatesOfTheClusterAuthorityServeOneClusterOverMutualTls()
    {
        var tenant = await nodes.Cluster.ProvisionTenantAsync(nodes.Client);

        using var created = await LocalCluster.CreateCustomerAsync(nodes.Client, tenant, "over-tls");
        using var cluster = await LocalCluster.SendAsync(nodes.Api, HttpMethod.Get, "/api/admin/cluster", await nodes.Cluster.SuperAdminTokenAsync(nodes.Api));
        var view = (await cluster.Content.ReadFromJsonAsync<JsonObject>())!;

        created.StatusCode.Should().Be(HttpStatusCode.Created, nodes.Cluster.Output());
        view["silos"]!.AsArray().Where(s => s!["status"]!.GetValue<string>() == "active").Select(s => s!["name"]!.GetValue<string>())
            .Should().BeEquivalentTo([nodes.Api.Name, nodes.Silo.Name]);
    }

    [Fact]
    public async Task SiloAndGatewayPortsSpeakTlsWithTheNodesCertificate()
    {
        var (accepted, presented) = await HandshakeAsync(nodes.Authority, IPAddress.Loopback, nodes.Api.SiloPort, nodes.Trusted);
        var (gatewayAccepted, gatewayPresented) = await HandshakeAsync(nodes.Authority, nodes.SiloAddress, nodes.Silo.GatewayPort, nodes.Trusted);

        accepted.Should().BeTrue();
        presented.Should().Be($"CN={nodes.Api.Name}");
        gatewayAccepted.Should().BeTrue();
        gatewayPresented.Should().Be($"CN={nodes.Silo.Name}");
    }

    [Fact]
    public async Task SiloAndGatewayPortsRefuseCertificatesOfAnotherAuthorityAndConnectionsWithoutOne()
    {
        var foreignToSilo = await HandshakeAsync(nodes.Authority, IPAddress.Loopback, nodes.Api.SiloPort, nodes.Foreign);
        var foreignToGateway = await HandshakeAsync(nodes.Authority, IPAddress.Loopback, nodes.Api.GatewayPort, nodes.Foreign);
        var noneToSilo = await HandshakeAsync(nodes.Authority, nodes.SiloAddress, nodes.Silo.SiloPort, null);
        var noneToGateway = await HandshakeAsync(nodes.Authority, nodes.SiloAddress, nodes.Silo.GatewayPort, null);

        foreignToSilo.Accepted.Should().BeFalse();
        foreignToGateway.Accepted.Should().BeFalse();
        noneToSilo.Accepted.Should().BeFalse();
        noneToGateway.Accepted.Should().BeFalse();
    }

    /// <summary>
    /// A TLS client on an Orleans port. Accepted means the connection survives the handshake and the server's check of our
    /// certificate (with TLS 1.3 a refusal arrives just after the handshake, as an alert or a closed connection).
    /// </summary>
    private static async Task<(bool Accepted, string? Presented)> HandshakeAsync(X509Certificate2 authority, IPAddress address, int port, X509Certificate2? certificate)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address, port);
        await using var tls = new SslStream(tcp.GetStream(), false);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "shohayota-node",
                ClientCertificates = certificate is null ? null : [certificate],
                // Silos are dialled by IP address, so the name is not checked; the issuer is.
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && IssuedBy(authority, presented),
            });
            var presented = tls.RemoteCertificate?.Subject;
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                var read = await tls.ReadAsync(new byte[64], wait.Token);
                return (read > 0, presented);
            }
            catch (OperationCanceledException)
            {
                return (true, presented);
            }
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            return (false, null);
        }
    }

    private static bool IssuedBy(X509Certificate2 authority, X509Certificate presented)
    {
        using var certificate = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
