using Alto.Gateway.Apis;

namespace Alto.Gateway.Tests;

/// <summary>What a report's CSV makes of text that came from file servers (paths, owners): RFC 4180 quoting, and formulas defused.</summary>
[Trait("Layer", "Unit")]
public sealed class CsvDownloadTests
{
    [Theory]
    [InlineData("/srv/report.pdf", "/srv/report.pdf")]
    [InlineData("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"")]
    [InlineData("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0")]
    [InlineData("-2+3+cmd", "'-2+3+cmd")]
    [InlineData("@SUM(1+1)", "'@SUM(1+1)")]
    [InlineData("\t=1+1", "'\t=1+1")]
    [InlineData("\r=1+1", "\"'\r=1+1\"")]
    [InlineData("-12", "-12")]
    [InlineData("+1.5e3", "+1.5e3")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("DOMAIN\\user1", "DOMAIN\\user1")]
    [InlineData("", "")]
    public void AFieldIsQuotedWhereItMustBeAndAFormulaIsDefused(string value, string written) =>
        Assert.Equal(written, CsvDownload.Field(value));
}
