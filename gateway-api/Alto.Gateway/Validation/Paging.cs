namespace Alto.Gateway.Validation;

/// <summary>A page of a list, with the total so a client can show "x of y".</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, int PageNumber, int PageSize, long Total);

/// <summary>Which page was asked for; numbers start at 1.</summary>
public sealed record PageRequest(int Number, int Size)
{
    public int Offset => (Number - 1) * Size;
}

public static class Paging
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 500;
    public const int MaxPageNumber = 1_000_000;

    /// <summary>Reads ?page=&amp;pageSize=, recording what is out of range.</summary>
    public static PageRequest Read(RequestErrors errors, int? page, int? pageSize)
    {
        var number = page ?? 1;
        var size = pageSize ?? DefaultPageSize;
        if (number < 1 || number > MaxPageNumber)
        {
            errors.Add("page", $"page must be between 1 and {MaxPageNumber}");
        }
        if (size < 1 || size > MaxPageSize)
        {
            errors.Add("pageSize", $"pageSize must be between 1 and {MaxPageSize}");
        }
        return new PageRequest(Math.Clamp(number, 1, MaxPageNumber), Math.Clamp(size, 1, MaxPageSize));
    }
}
