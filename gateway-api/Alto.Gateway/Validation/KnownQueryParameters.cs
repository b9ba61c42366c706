using System.Reflection;
using Alto.Gateway.Errors;
using Microsoft.AspNetCore.Mvc;

namespace Alto.Gateway.Validation;

/// <summary>
/// Refuses a query parameter the endpoint does not read. The framework ignores one, so a filter
/// misspelt (<c>?state=failed</c> where the endpoint reads <c>status</c>, <c>?groupBy=</c> for
/// <c>by</c>) answered 200 with every row unfiltered — an admin who then deletes, recalls or
/// reports on what came back acts on the wrong set. The names an endpoint reads come from its
/// handler's parameters, so a parameter added later is known without a list to keep.
/// </summary>
public static class KnownQueryParameters
{
    public static EndpointFilterDelegate RefuseOthers(EndpointFilterFactoryContext context, EndpointFilterDelegate next)
    {
        var named = QueryNames(context.MethodInfo.GetParameters());
        return invocation =>
        {
            var query = invocation.HttpContext.Request.Query;
            if (query.Count == 0)
            {
                return next(invocation);
            }
            // A route value's name is among the handler's parameters but not read from the query.
            var route = invocation.HttpContext.Request.RouteValues;
            var unknown = query.Keys.Where(key => !named.Contains(key) || route.ContainsKey(key)).ToList();
            if (unknown.Count == 0)
            {
                return next(invocation);
            }
            var read = named.Where(name => !route.ContainsKey(name)).Order(StringComparer.Ordinal).ToList();
            var listed = read.Count == 0 ? "none" : string.Join(", ", read);
            var errors = new RequestErrors();
            foreach (var key in unknown.Take(10))
            {
                var name = key.Length > 40 ? key[..40] + "…" : key;
                errors.Add(name, $"'{name}' is not a query parameter of this endpoint (it reads: {listed})");
            }
            return ValueTask.FromResult<object?>(ApiProblems.Invalid(errors));
        };
    }

    /// <summary>The names a handler's parameters are bound from in the query, as minimal APIs bind them (case-insensitively).</summary>
    public static HashSet<string> QueryNames(IEnumerable<ParameterInfo> parameters)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var parameter in parameters)
        {
            if (parameter.GetCustomAttribute<AsParametersAttribute>() is not null)
            {
                // A record's members are its constructor's parameters; a class's, its settable properties.
                var type = parameter.ParameterType;
                var constructor = type.GetConstructors().MaxBy(constructor => constructor.GetParameters().Length);
                names.UnionWith(QueryNames(constructor?.GetParameters() ?? []));
                names.UnionWith(type.GetProperties().Where(property => property.CanWrite && IsReadFromText(property.PropertyType)).Select(property => CamelCase(property.Name)));
            }
            else if (parameter.GetCustomAttribute<FromQueryAttribute>() is { } fromQuery)
            {
                names.Add(fromQuery.Name ?? parameter.Name!);
            }
            else if (!IsBoundElsewhere(parameter) && IsReadFromText(parameter.ParameterType))
            {
                // Route values are among these too; the filter tells them apart by the request's route.
                names.Add(CamelCase(parameter.Name!));
            }
        }
        return names;
    }

    /// <summary>A record's member as the API document spells it (From → from).</summary>
    private static string CamelCase(string name) => char.ToLowerInvariant(name[0]) + name[1..];

    private static bool IsBoundElsewhere(ParameterInfo parameter) =>
        parameter.GetCustomAttribute<FromBodyAttribute>() is not null
        || parameter.GetCustomAttribute<FromServicesAttribute>() is not null
        || parameter.GetCustomAttribute<FromHeaderAttribute>() is not null
        || parameter.GetCustomAttribute<FromFormAttribute>() is not null;

    /// <summary>Text, an enum, a type that parses itself (numbers, UUIDs, times), or a list of them; never a body or a service.</summary>
    private static bool IsReadFromText(Type type)
    {
        var inner = Nullable.GetUnderlyingType(type) ?? (type.IsArray ? type.GetElementType()! : type);
        inner = Nullable.GetUnderlyingType(inner) ?? inner;
        return inner == typeof(string) || inner.IsEnum
            || inner.GetMethods(BindingFlags.Public | BindingFlags.Static).Any(method => method.Name == "TryParse");
    }
}
