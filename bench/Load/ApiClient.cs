using System.Net.Http.Json;
using System.Text.Json;

namespace Shohayota.Load;

/// <summary>The few calls seeding and preparation make; any failure stops the run with the server's answer.</summary>
public sealed class ApiClient(HttpClient http)
{
    /// <summary>Signs in; a 503 right after a start (the cluster still settling) is retried for up to a minute.</summary>
    public async Task<string> LoginAsync(string email, string password)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var body = await SendAsync(HttpMethod.Post, "/api/auth/login", null, new { email, password });
                return body.GetProperty("accessToken").GetString()!;
            }
            catch (UnavailableException) when (attempt < 30)
            {
                await Task.Delay(TimeSpan.FromSeconds(2));
            }
        }
    }

    public Task<JsonElement> PostAsync(string path, string token, object body) => SendAsync(HttpMethod.Post, path, token, body);

    public Task<JsonElement> GetAsync(string path, string token) => SendAsync(HttpMethod.Get, path, token, null);

    public Task<JsonElement> PutAsync(string path, string token, object body) => SendAsync(HttpMethod.Put, path, token, body);

    private async Task<JsonElement> SendAsync(HttpMethod method, string path, string? token, object? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable)
        {
            throw new UnavailableException($"{method} {path} answered 503: {text}");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{method} {path} answered {(int)response.StatusCode}: {text}");
        }

        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}

public sealed class UnavailableException(string message) : Exception(message);
