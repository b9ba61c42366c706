using Npgsql;

namespace Alto.Grains.Persistence;

/// <summary>
/// Creating a grain whose name must be unique across grains: the read-model row is written
/// first, so its unique index is the claim on the name; only then is the grain state written.
/// If the state write fails the row is taken back, so a refused or failed create leaves nothing.
/// </summary>
internal static class ClaimedWrite
{
    /// <returns>False when the row's unique index refused the claim; nothing was written then.</returns>
    public static async Task<bool> CreateAsync<TState>(
        IPersistentState<TState> state, TState created, Func<Task> insertRow, Func<Task> deleteRow, Func<TState> empty)
    {
        try
        {
            await insertRow();
        }
        catch (PostgresException exception) when (exception.IsUniqueViolation())
        {
            return false;
        }

        state.State = created;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = empty();
            await deleteRow();
            throw;
        }
        return true;
    }
}
