using Alto.GrainInterfaces.Common;
using Alto.Gateway.Validation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Alto.Gateway.Errors;

/// <summary>Problem-details answers (RFC 9457) used by every endpoint.</summary>
public static class ApiProblems
{
    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    public static ProblemHttpResult Forbidden(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: "Forbidden");

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict");

    public static ProblemHttpResult Unauthorized(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized");

    public static ValidationProblem Invalid(RequestErrors errors) =>
        TypedResults.ValidationProblem(errors.ToDictionary(), title: "The request is not valid");

    public static ValidationProblem Invalid(string field, string message)
    {
        var errors = new RequestErrors();
        errors.Add(field, message);
        return Invalid(errors);
    }

    public static ProblemHttpResult From(CommandError error) => error.Kind switch
    {
        CommandErrorKind.NotFound => NotFound(error.Message),
        CommandErrorKind.Conflict => Conflict(error.Message),
        CommandErrorKind.Stale => TypedResults.Problem(error.Message, statusCode: StatusCodes.Status412PreconditionFailed, title: "Precondition failed"),
        _ => TypedResults.Problem(error.Message, statusCode: StatusCodes.Status400BadRequest, title: "The request is not valid",
            extensions: error.Field is { } field
                ? new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [field] = [error.Message] } }
                : null),
    };
}
