using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Alto.TestSupport;

/// <summary>A signed-in platform admin's REST client, for tests that set up tenants and hosts.</summary>
public sealed class AdminApi : IDisposable
{
    private readonly HttpClient _http;

    private AdminApi(HttpClient http) => _http = http;

    /// <summary>The signed-in client itself, for a request whose refusal is what the test looks at.</summary>
    public HttpClient Http => _http;

    /// <summary>The bearer token this client signed in with (tests check it never reaches a log).</summary>
    public string AccessToken => _http.DefaultRequestHeaders.Authorization!.Parameter!;

    public static async Task<AdminApi> SignInAsync(Uri gateway, string password, string username = "admin")
    {
        var http = new HttpClient { BaseAddress = gateway };
        var login = await http.PostAsJsonAsync("/api/v1/auth/login", new { username, password });
        login.EnsureSuccessStatusCode();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Bearer", (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString());
        return new AdminApi(http);
    }

    /// <summary>
    /// A tenant as a new admin gets it (manual plan approval, 64 KiB minimum), or with
    /// <paramref name="tierAtOnce"/> one whose plans go to the agent at once and take files of any
    /// size, for tests about what happens after planning.
    /// </summary>
    public async Task<Guid> CreateTenantAsync(string name, bool tierAtOnce = false)
    {
        var response = await _http.PostAsJsonAsync("/api/v1/tenants", new { name });
        response.EnsureSuccessStatusCode();
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        if (tierAtOnce)
        {
            await PatchAsync($"/api/v1/tenants/{id}", new { planApproval = "auto", minTierableBytes = 0 });
        }
        return id;
    }

    /// <summary>A new user of <paramref name="role"/> in <paramref name="tenantId"/>, signed in (the client has their rights, not the admin's).</summary>
    public async Task<AdminApi> NewUserAsync(string role, Guid tenantId)
    {
        var username = $"{role}-{Guid.NewGuid():N}"[..30];
        var password = $"Pw-{Guid.NewGuid():N}";
        await PostAsync("/api/v1/users", new { username, password, role, tenantIds = new[] { tenantId } });
        return await SignInAsync(_http.BaseAddress!, password, username);
    }

    /// <summary>Registers a host and returns its id and one-time enrollment token.</summary>
    public async Task<(Guid HostId, string Token)> RegisterHostAsync(Guid tenantId, string name, params string[] volumes)
    {
        var response = await _http.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/hosts", new { name, volumes });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("host").GetProperty("id").GetGuid(), body.GetProperty("enrollmentToken").GetString()!);
    }

    public async Task<JsonElement> GetAsync(string path) =>
        await _http.GetFromJsonAsync<JsonElement>(new Uri(path, UriKind.Relative));

    public async Task<JsonElement> PostAsync(string path, object body)
    {
        var response = await _http.PostAsJsonAsync(new Uri(path, UriKind.Relative), body);
        await EnsureSuccessAsync(response);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public async Task<JsonElement> PatchAsync(string path, object body)
    {
        var response = await _http.PatchAsJsonAsync(new Uri(path, UriKind.Relative), body);
        await EnsureSuccessAsync(response);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Like EnsureSuccessStatusCode, with the gateway's problem details in the message.</summary>
    private static async Task EnsureSuccessAsync(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException(
                $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}",
                null, response.StatusCode);
        }
    }

    /// <summary>Polls a host's detail until <paramref name="condition"/> holds; times out with the last answer.</summary>
    public async Task<JsonElement> WaitForHostAsync(Guid tenantId, Guid hostId, Func<JsonElement, bool> condition, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        JsonElement host;
        do
        {
            host = await GetAsync($"/api/v1/tenants/{tenantId}/hosts/{hostId}");
            if (condition(host))
            {
                return host;
            }
            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);
        throw new TimeoutException("the host never reached the expected state: " + host);
    }

    public void Dispose() => _http.Dispose();
}
