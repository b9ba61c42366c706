using Alto.Grains.Fleet;
using Microsoft.Extensions.Options;

namespace Alto.Grains.Tests.Fleet;

/// <summary>Per-host series stay bounded: past the limit, hosts share the label "other"; a host labelled before keeps its id.</summary>
public sealed class HostLabelsTests
{
    [Fact]
    public void HostsPastTheLimitShareOneLabelAndHostsWithinItKeepTheirOwn()
    {
        var labels = new HostLabels(Options.Create(new MetricsOptions { HostLabelLimit = 2 }));
        var (first, second, third) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());

        Assert.Equal(first.ToString(), labels.For(first).Value);
        Assert.Equal(second.ToString(), labels.For(second).Value);
        Assert.Equal(HostLabels.Other, labels.For(third).Value);
        Assert.Equal(first.ToString(), labels.For(first).Value);
        Assert.Equal(HostLabels.Other, labels.For(third).Value);
        Assert.Equal("host", labels.For(first).Key);
    }

    [Fact]
    public void ALimitOfZeroLabelsEveryHostOther()
    {
        var labels = new HostLabels(Options.Create(new MetricsOptions { HostLabelLimit = 0 }));

        Assert.Equal(HostLabels.Other, labels.For(Guid.NewGuid()).Value);
    }
}
