using Npgsql;

namespace Alto.Grains.Persistence;

/// <summary>One kind of row that names another: the count of them (a scalar query), and how an admin is told about it.</summary>
public sealed record Reference(string CountQuery, Func<long, string> Phrase);

/// <summary>
/// What names a row that is about to be deleted, said the way an admin reads it (“2 tiering
/// job(s)”): every count asked in one statement, the kinds with none left out.
/// </summary>
public static class References
{
    public static async Task<string[]> DescribeAsync(NpgsqlDataSource db, IReadOnlyList<Reference> references, params Guid[] parameters)
    {
        await using var command = db.CreateCommand("SELECT " + string.Join(", ", references.Select(reference => $"({reference.CountQuery})")));
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = parameter });
        }
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        var named = new List<string>();
        for (var i = 0; i < references.Count; i++)
        {
            if (reader.GetInt64(i) is > 0 and var count)
            {
                named.Add(references[i].Phrase(count));
            }
        }
        return [.. named];
    }
}
