using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Orleans.Connections.Security;
using Shohayota.Grains.Hosting;

namespace Shohayota.Silo;

/// <summary>
/// Optional mutual TLS between silos and from cluster clients to gateways (section <c>Shohayota:Cluster:Tls</c>).
/// Every node presents its certificate and accepts only peers whose certificate chains to <see cref="AuthorityPath"/>
/// (the cluster's own CA), or, without an authority, only the very certificate it has itself (one shared certificate).
/// </summary>
public sealed class ClusterTlsOptions
{
    public const string SectionName = "Shohayota:Cluster:Tls";

    /// <summary>This node's certificate: a PKCS#12 file (.pfx/.p12) with its key, or a PEM certificate with <see cref="KeyPath"/>.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of a PEM certificate.</summary>
    public string? KeyPath { get; set; }

    /// <summary>The password of a PKCS#12 file, if any.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>The PEM certificate of the authority that issues the nodes' certificates.</summary>
    public string? AuthorityPath { get; set; }
}

public static class ClusterTls
{
    public static ISiloBuilder UseClusterTls(this ISiloBuilder silo, IConfiguration configuration)
    {
        if (Load(configuration) is { } tls)
        {
            silo.UseTls(tls.Certificate, tls.Configure);
        }

        return silo;
    }

    public static IClientBuilder UseClusterTls(this IClientBuilder client, IConfiguration configuration)
    {
        if (Load(configuration) is { } tls)
        {
            client.UseTls(tls.Certificate, tls.Configure);
        }

        return client;
    }

    private static Trust? Load(IConfiguration configuration)
    {
        var options = configuration.GetSection(ClusterTlsOptions.SectionName).Get<ClusterTlsOptions>();
        if (string.IsNullOrEmpty(options?.CertificatePath))
        {
            return null;
        }

        // A file that is missing, unreadable or not a certificate (or key) refuses the start with one line naming the
        // setting, instead of an unhandled exception.
        X509Certificate2 certificate;
        try
        {
            certificate = options.KeyPath is { Length: > 0 } key
                ? X509Certificate2.CreateFromPemFile(options.CertificatePath, key)
                : X509CertificateLoader.LoadPkcs12FromFile(options.CertificatePath, options.CertificatePassword);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new StartupRefusedException(
                $"{ClusterTlsOptions.SectionName}:{nameof(ClusterTlsOptions.CertificatePath)} '{options.CertificatePath}'" +
                (options.KeyPath is { Length: > 0 } ? $" with {ClusterTlsOptions.SectionName}:{nameof(ClusterTlsOptions.KeyPath)} '{options.KeyPath}'" : "") +
                $" cannot be loaded: {e.Message}", e);
        }

        X509Certificate2? authority = null;
        if (options.AuthorityPath is { Length: > 0 } path)
        {
            try
            {
                authority = X509Certificate2.CreateFromPem(File.ReadAllText(path));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                certificate.Dispose();
                throw new StartupRefusedException(
                    $"{ClusterTlsOptions.SectionName}:{nameof(ClusterTlsOptions.AuthorityPath)} '{path}' cannot be loaded: {e.Message}", e);
            }
        }

        return new Trust(certificate, authority);
    }

    private sealed class Trust(X509Certificate2 certificate, X509Certificate2? authority)
    {
        public X509Certificate2 Certificate => certificate;

        public void Configure(TlsOptions options)
        {
            // Mutual: silos and clients must both show a certificate the cluster trusts.
            options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
            options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
            options.RemoteCertificateValidation = (remote, _, _) => Trusts(remote);
        }

        // Peers are identified by their issuer, not by host name: silos dial each other by IP address.
        private bool Trusts(X509Certificate2? remote)
        {
            if (remote is null)
            {
                return false;
            }

            if (authority is null)
            {
                return remote.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span);
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(authority);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(remote);
        }
    }
}
