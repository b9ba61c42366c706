namespace Alto.Gateway.Validation;

/// <summary>A page of a list, with the total so a client can show "x of y".</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, int PageNumber, int PageSize, long Total);

public static class Paging
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 500;

    /// <summary>Reads ?page=&amp;pageSize=; page numbers start at 1.</summary>
    public static (int Page, int Size, int Offset) Read(RequestErrors errors, int? page, int? pageSize)
    {
        var number = page ?? 1;
        var size = pageSize ?? DefaultPageSize;
        if (number < 1 || number > 1_000_000)
        {
            errors.Add("page", "page must be between 1 and 1000000");
        }
        if (size < 1 || size > MaxPageSize)
        {
            errors.Add("pageSize", $"pageSize must be between 1 and {MaxPageSize}");
        }
        return (number, size, (Math.Clamp(number, 1, 1_000_000) - 1) * Math.Clamp(size, 1, MaxPageSize));
    }
}
