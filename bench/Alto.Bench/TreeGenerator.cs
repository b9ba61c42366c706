using System.Diagnostics;

namespace Alto.Bench;

/// <summary>Makes (once, then reuses) a tree of N files in 1,000-file directories, with varied sizes and times.</summary>
public static class TreeGenerator
{
    public static string Ensure(string root, int files)
    {
        var tree = Path.Combine(root, $"tree-v2-{files}");
        var done = tree + ".complete";
        if (File.Exists(done))
        {
            return tree;
        }
        if (Directory.Exists(tree))
        {
            Directory.Delete(tree, recursive: true);
        }
        Console.Error.WriteLine($"generating {files:N0} files under {tree} ...");
        var clock = Stopwatch.StartNew();
        var random = new Random(42);
        var baseTime = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i < files; i++)
        {
            var directory = Path.Combine(tree, $"p{i / 100_000:D2}", $"d{i / 1000:D4}");
            if (i % 1000 == 0)
            {
                Directory.CreateDirectory(directory);
            }
            var path = Path.Combine(directory, $"file-{i:D7}{Extensions[i % Extensions.Length]}");
            using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
            {
                // A size without writing all the data: sparse, but with its last byte written, so the
                // file owns a block like an ordinary file (an all-hole file would look like a stub).
                var size = random.Next(1, 1 << 20);
                stream.Position = size - 1;
                stream.WriteByte(1);
            }
            File.SetLastWriteTimeUtc(path, baseTime.AddMinutes(random.Next(0, 2_000_000)));
        }
        File.WriteAllText(done, clock.Elapsed.ToString());
        Console.Error.WriteLine($"generated in {clock.Elapsed.TotalSeconds:0} s");
        return tree;
    }

    private static readonly string[] Extensions = [".pdf", ".docx", ".jpg", ".mp4", ".log", ".csv", "", ".tar.gz"];
}
