using System.Collections.Frozen;

namespace Alto.Gateway.ReadModels;

/// <summary>The type family of a file by its extension (lower case, no dot): what an admin groups capacity by.</summary>
public static class FileFamilies
{
    private static readonly FrozenDictionary<string, string> ByExtension = new Dictionary<string, string[]>
    {
        ["documents"] = ["doc", "docx", "odt", "rtf", "txt", "md", "pdf", "ppt", "pptx", "odp", "xls", "xlsx", "ods", "csv", "tsv", "pages", "key", "numbers", "tex", "epub"],
        ["images"] = ["jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp", "heic", "svg", "psd", "raw", "cr2", "cr3", "nef", "arw", "dng", "exr", "dpx", "ico"],
        ["video"] = ["mp4", "mov", "avi", "mkv", "mxf", "m4v", "wmv", "mpg", "mpeg", "webm", "r3d", "braw", "ari", "prores", "m2ts", "mts", "vob"],
        ["audio"] = ["mp3", "wav", "aif", "aiff", "flac", "aac", "m4a", "ogg", "wma", "opus", "bwf"],
        ["archives"] = ["zip", "tar", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "iso", "dmg", "cab"],
        ["code"] = ["c", "h", "cpp", "hpp", "cs", "java", "py", "js", "ts", "go", "rs", "rb", "php", "sh", "ps1", "sql", "html", "css", "xml", "json", "yaml", "yml"],
        ["data"] = ["db", "sqlite", "mdb", "accdb", "parquet", "avro", "orc", "h5", "hdf5", "nc", "npy", "mat", "sav", "dat", "bak", "dump"],
        ["design"] = ["dwg", "dxf", "step", "stp", "iges", "igs", "stl", "obj", "fbx", "blend", "max", "ma", "mb", "c4d", "skp", "rvt", "ifc", "indd", "ai", "eps"],
        ["email"] = ["pst", "ost", "eml", "msg", "mbox"],
        ["virtual machines"] = ["vmdk", "vhd", "vhdx", "qcow2", "ova", "ovf", "img"],
        ["executables"] = ["exe", "dll", "so", "msi", "bin", "jar", "class", "o", "a", "lib"],
        ["logs"] = ["log", "trace", "evtx"],
    }.SelectMany(family => family.Value.Select(extension => (extension, family.Key))).ToFrozenDictionary(pair => pair.extension, pair => pair.Key);

    /// <summary>The family, "other" for an extension no family claims, "none" without one.</summary>
    public static string Of(string extension) =>
        extension.Length == 0 ? "none" : ByExtension.TryGetValue(extension.ToLowerInvariant(), out var family) ? family : "other";
}
