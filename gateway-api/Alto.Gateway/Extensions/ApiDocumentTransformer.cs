using System.Reflection;
using System.Text.RegularExpressions;
using Alto.Gateway.Auth;
using Microsoft.AspNetCore.Mvc.ApiExplorer;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Alto.Gateway.Extensions;

/// <summary>
/// Makes the API document one a client generator and a linter accept: only the /api paths (the
/// Orleans dashboard's are operator pages, not API), a server the caller fills in rather than the
/// address the gateway binds, a described tag for each area, an operationId for every operation
/// (its handler's name, prefixed with its API's), and the error answers each operation can give
/// by its declared access: 401 without a valid token, 403 for a role that may not, 404 for an id
/// in the path that is not there or not the caller's, 400 for bad input (for every operation: a
/// query parameter it does not read, or a body where it reads none, is bad input), 412 where a change
/// takes If-Match (<see cref="Validation.Preconditions"/>) — all problem details.
/// </summary>
public sealed partial class ApiDocumentTransformer : IOpenApiDocumentTransformer
{
    private const string ProblemSchema = "ProblemDetails";

    private static readonly Dictionary<string, string> TagDescriptions = new(StringComparer.Ordinal)
    {
        ["Sign-in"] = "Signing in and out, the caller's own account and password",
        ["Tenants"] = "Tenants and their policies (encryption, plan approval, orphan reclaim) and keys",
        ["Hosts"] = "File servers with an agent: registration, volumes, scans, recalls, transfer windows",
        ["Storage targets"] = "Tier-2 stores of a tenant: a mounted path, S3 or Azure Blob",
        ["Rules"] = "The rules that decide which files are cold and where they go",
        ["Planning"] = "Plans made from the rules, and the jobs waiting for an admin's approval",
        ["Agents"] = "What agents call with their host credential: enrollment, reports, reconciliation parts",
        ["Tiering"] = "Tier objects (files on their way to tier 2, stubs, recalls) and jobs",
        ["Audit"] = "The tamper-evident audit trail: pages, export and verification",
        ["Users"] = "People who sign in, their roles and tenants",
        ["Reconciliation"] = "The sanitizer: reconciling tier 2, the records and the stubs on the hosts",
        ["Analytics"] = "Where the capacity is (by age, type, owner, size, directory, target), day-by-day activity, inventory search",
        ["Savings"] = "The tenant's cost model, what tiering saves, and what-if previews of rule sets",
    };

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var path in document.Paths.Keys.Where(path => !path.StartsWith("/api/", StringComparison.Ordinal)).ToList())
        {
            document.Paths.Remove(path);
        }
        document.Servers =
        [
            new OpenApiServer
            {
                Url = "{scheme}://{gateway}",
                Description = "The gateway as your clients reach it",
                Variables = new Dictionary<string, OpenApiServerVariable>
                {
                    ["scheme"] = new() { Default = "https", Enum = ["https", "http"] },
                    ["gateway"] = new() { Default = "alto-gateway:8080", Description = "Host name and port of the gateway (or its load balancer)" },
                },
            },
        ];
        document.Info.License = new OpenApiLicense { Name = "Proprietary", Url = new Uri("https://alto.invalid/license") };
        document.Tags = new HashSet<OpenApiTag>(TagDescriptions.Select(tag => new OpenApiTag { Name = tag.Key, Description = tag.Value }));
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[ProblemSchema] = ProblemDetailsSchema();

        var endpoints = context.DescriptionGroups.SelectMany(group => group.Items)
            .Where(description => description.RelativePath is not null && description.HttpMethod is not null)
            .GroupBy(description => (Normalize(description.RelativePath!), description.HttpMethod!.ToUpperInvariant()))
            .ToDictionary(group => group.Key, group => group.First());
        var operationIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (path, item) in document.Paths)
        {
            foreach (var (method, operation) in item.Operations ?? [])
            {
                endpoints.TryGetValue((Normalize(path), method.Method.ToUpperInvariant()), out var description);
                operation.OperationId ??= UniqueId(OperationId(description, method, path), operationIds);
                AddErrorAnswers(document, path, operation, description);
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>The handler's name without "Async", prefixed with its API class's without "Api": reconcileStart, tenantsUpdateTenant.</summary>
    private static string OperationId(ApiDescription? description, HttpMethod method, string path)
    {
        if (description?.ActionDescriptor.EndpointMetadata.OfType<MethodInfo>().FirstOrDefault() is { } handler && handler.DeclaringType is { } api)
        {
            var prefix = api.Name.EndsWith("Api", StringComparison.Ordinal) ? api.Name[..^3] : api.Name;
            var name = handler.Name.EndsWith("Async", StringComparison.Ordinal) ? handler.Name[..^5] : handler.Name;
            if (!name.Contains('<', StringComparison.Ordinal))
            {
                return char.ToLowerInvariant(prefix[0]) + prefix[1..] + name;
            }
        }
        // A lambda handler: the method and the path's words.
        var words = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(word => word is not ("api" or "v1") && !word.StartsWith('{'))
            .Select(word => string.Concat(word.Split('-').Select(part => char.ToUpperInvariant(part[0]) + part[1..])));
        return method.Method.ToLowerInvariant() + string.Concat(words);
    }

    /// <summary>A path as both the explorer and the document write it: a leading slash, no trailing one, no query, no route constraints.</summary>
    private static string Normalize(string path) => "/" + RouteConstraint().Replace(path.Split('?')[0].Trim('/'), "{$1}");

    [GeneratedRegex(@"\{([^}:=?]+)[^}]*\}")]
    private static partial Regex RouteConstraint();

    private static string UniqueId(string id, HashSet<string> taken)
    {
        var unique = id;
        for (var i = 2; !taken.Add(unique); i++)
        {
            unique = id + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return unique;
    }

    private static void AddErrorAnswers(OpenApiDocument document, string path, OpenApiOperation operation, ApiDescription? description)
    {
        operation.Responses ??= [];
        var access = description?.ActionDescriptor.EndpointMetadata.OfType<AccessPolicy>().FirstOrDefault()?.Access ?? Access.SignedIn;
        if (access == Access.Anonymous)
        {
            operation.Security = [];
        }
        else
        {
            AddProblem(document, operation, "401", "No valid token (or host credential)");
            if (access is not (Access.SignedIn or Access.Agent))
            {
                AddProblem(document, operation, "403", "The caller's role may not do this");
            }
        }
        if (path.Contains('{', StringComparison.Ordinal))
        {
            AddProblem(document, operation, "404", "Not found, or not the caller's to see");
        }
        if (operation.Parameters?.Any(parameter => parameter.In == ParameterLocation.Header && parameter.Name == Validation.Preconditions.IfMatchHeader) == true)
        {
            AddProblem(document, operation, "412", "If-Match named a revision the resource has moved on from: nothing was changed");
        }
        // Every operation refuses a query parameter it does not read (KnownQueryParameters).
        AddProblem(document, operation, "400", operation.RequestBody is not null || operation.Parameters?.Any(parameter => parameter.In == ParameterLocation.Query) == true
            ? "The request is not valid: the problem details say which field and why"
            : "A query parameter this operation does not read (the problem details name it), or a body, which it reads none of");
    }

    private static void AddProblem(OpenApiDocument document, OpenApiOperation operation, string status, string description)
    {
        if (operation.Responses!.ContainsKey(status))
        {
            return;
        }
        operation.Responses[status] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(ProblemSchema, document) },
            },
        };
    }

    /// <summary>RFC 9457 problem details, as every error answer carries them.</summary>
    private static OpenApiSchema ProblemDetailsSchema() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "An error, as RFC 9457 problem details",
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["type"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
            ["title"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
            ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer | JsonSchemaType.Null, Format = "int32" },
            ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
            ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
        },
    };
}
