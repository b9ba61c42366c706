using Alto.Gateway.Validation;
using Npgsql;

namespace Alto.Gateway.ReadModels;

/// <summary>
/// A list query in parts, so that one place pages it and counts it. <see cref="Where"/> and
/// <see cref="Columns"/> may use $1..$n, bound from <see cref="Parameters"/> (a factory, since a
/// parameter belongs to one command).
/// </summary>
public sealed record ListQuery(string Columns, string From, string Where, string OrderBy, Func<NpgsqlParameter[]> Parameters);

public static class PagedReader
{
    /// <summary>
    /// One page of the query, with the total from the same statement (count(*) OVER ()); only a
    /// page past the end needs a second statement to learn the total.
    /// </summary>
    public static async Task<Page<T>> ReadPageAsync<T>(
        this NpgsqlDataSource db, ListQuery query, PageRequest page, Func<NpgsqlDataReader, T> map, CancellationToken cancellationToken)
    {
        var parameters = query.Parameters();
        await using var command = db.CreateCommand($"""
            SELECT {query.Columns}, count(*) OVER () AS alto_total
            FROM {query.From}
            WHERE {query.Where}
            ORDER BY {query.OrderBy}
            OFFSET ${parameters.Length + 1} LIMIT ${parameters.Length + 2}
            """);
        command.Parameters.AddRange(parameters);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = page.Offset });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = page.Size });

        var items = new List<T>();
        long total = 0;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            var totalColumn = reader.FieldCount - 1;
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(map(reader));
                total = reader.GetInt64(totalColumn);
            }
        }
        if (items.Count == 0 && page.Offset > 0)
        {
            await using var count = db.CreateCommand($"SELECT count(*) FROM {query.From} WHERE {query.Where}");
            count.Parameters.AddRange(query.Parameters());
            total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }
        return new Page<T>(items, page.Number, page.Size, total);
    }
}
