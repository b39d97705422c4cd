"""hwsim.plots: each function returns its Axes with the expected labels and lines; save writes a PNG."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from hwsim import plots, reram  # noqa: E402

SERIES = {"magnitude": [(0.9, 0.88), (0.5, 0.895), (0.7, 0.89)], "snip": [(0.5, 0.89), (0.9, 0.85)]}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def report(rng):
    return reram.cost(reram.map([rng.standard_normal((64, 200))], reram.resolve_config()))


def _is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_accuracy_vs_sparsity_sorts_points_and_draws_dense_references(tmp_path):
    ax = plots.plot_accuracy_vs_sparsity(SERIES, dense_accuracy=0.9, title="t")
    assert ax.get_xlabel() == "weight sparsity (%)" and ax.get_ylabel() == "test accuracy (%)"
    assert len(ax.lines) == 2 + 2  # two series, dense and dense - 0.5 pt
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [50, 70, 90])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [89.5, 89.0, 88.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()][-2:] == ["dense 90.00%", "dense - 0.5 pt"]
    plots.save(ax, tmp_path / "a.png")
    assert _is_png(tmp_path / "a.png")


def test_accuracy_vs_saved_keeps_order_and_labels_the_metric():
    ax = plots.plot_accuracy_vs_saved({"rounds": [(0.8, 0.89), (0.75, 0.895), (0.9, 0.88)], "final": [(0.9, 0.89)]},
                                      dense_accuracy=0.9, margin_pt=None, target_saved=0.9,
                                      styles={"final": {"marker": "*", "ms": 12}})
    assert ax.get_xlabel() == "static power saved (% of unpruned)"
    assert len(ax.lines) == 2 + 1 + 1  # two series, dense, target
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [80, 75, 90])  # a trajectory: not sorted
    assert ax.lines[1].get_linestyle() == "None" and ax.lines[1].get_marker() == "*"
    assert plots.plot_accuracy_vs_saved({}, metric="energy_j").get_xlabel() == \
        "energy per inference saved (% of unpruned)"


def test_metric_bars_from_reports_and_counts(report):
    ax = plots.plot_metric_bars({"a": report, "b": report.total.static_power_w / 2}, "static_power_w",
                                accuracies={"a": 0.9})
    assert len(ax.patches) == 2 and ax.get_ylabel().startswith("static power (")
    label, factor = plots.scaled_unit("static_power_w", report.total.static_power_w)
    assert ax.get_ylabel() == label
    assert ax.patches[0].get_height() == pytest.approx(report.total.static_power_w * factor)
    assert [t.get_text() for t in ax.texts] == ["90.00%"]
    ax = plots.plot_metric_bars({"dense": 12, "pruned": 4}, ylabel="allocated crossbars (128 x 128)")
    assert ax.get_ylabel() == "allocated crossbars (128 x 128)" and [p.get_height() for p in ax.patches] == [12, 4]


def test_axes_grid_panels_share_one_figure_and_save(tmp_path, report):
    axes = plots.axes_grid(2, sharey=True)
    assert len(axes) == 2 and axes[0].figure is axes[1].figure
    plots.plot_accuracy_vs_sparsity(SERIES, ax=axes[0])
    assert plots.plot_breakdown(report, ax=axes[1]) is axes[1]
    plots.save(axes[1], str(tmp_path / "grid.png"))
    assert _is_png(tmp_path / "grid.png")


def test_existing_plots_return_axes_with_units(report):
    ax = plots.plot_metric_vs_sparsity({"x": [(0.0, report), (0.5, report)]}, "energy_j")
    assert ax.get_xlabel() == "weight sparsity (%)" and ax.get_ylabel() == "energy per inference (nJ)"
    ax = plots.plot_pareto({"x": [(1e-3, 0.9), (2e-3, 0.91)]}, "static_power_w")
    assert ax.get_xlabel() == "static power (mW)" and len(ax.lines) == 2  # the front's step line and its markers


def test_axes_choose_si_prefix_and_log_scale():
    assert plots.si_prefix(8696.0) == ("k", 1e-3) and plots.si_prefix(4.5e-6)[0] == "\u00b5"
    label, factor, log = plots.metric_axis("energy_j", [9e-9, 4.5e-6])
    assert label == "energy per inference (\u00b5J)" and factor == pytest.approx(1e6) and log
    assert plots.metric_axis("static_power_w", [150.0, 180.0])[:3] == ("static power (W)", 1.0, False)
    assert plots.metric_axis("accuracy", [0.5, 0.9])[0].endswith("(%)")


def test_coinciding_lines_share_one_legend_entry_and_zero_components_are_left_out(report):
    ax = plots.plot_metric_vs_sparsity({"a": [(0.0, report)], "b": [(0.0, report)]}, "energy_j", relative=True)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a\n= b"]
    ax = plots.plot_breakdown(report, "static_power_w")
    names = [t.get_text() for t in ax.get_legend().get_texts()]
    zero = [c for c, v in report.breakdown().items() if v.static_power_w == 0]
    assert zero and not set(zero) & set(names)


def test_save_writes_png_and_pdf(tmp_path, report):
    written = plots.save(plots.plot_breakdown(report), tmp_path / "b.png", formats=("pdf", "svg"))
    assert [p[-3:] for p in written] == ["png", "pdf", "svg"]
    assert (tmp_path / "b.pdf").read_bytes()[:4] == b"%PDF"


@pytest.mark.parametrize("outside", [False, True], ids=["a breakdown", "with text beyond the figure's edge"])
def test_saved_png_is_matplotlibs_tight_png(tmp_path, report, outside):
    """save lays the figure out once and draws each format once in the tight box: the picture
    savefig(bbox_inches="tight") makes (which lays out and draws twice per format), to a pixel of the box, including
    what lies beyond the figure's edge."""
    import matplotlib.pyplot as plt
    from PIL import Image

    def figure():
        ax = plots.plot_breakdown(report, title="a breakdown")
        if outside:
            ax.text(1.4, 0.5, "beyond the right edge", transform=ax.transAxes)
        return ax

    ax = figure()
    ax.figure.savefig(tmp_path / "want.png", dpi=plots.PNG_DPI, bbox_inches="tight")
    plt.close(ax.figure)
    ax = figure()
    figure_width_px = ax.figure.get_size_inches()[0] * plots.PNG_DPI
    plots.save(ax, tmp_path / "got.png")
    want = np.asarray(Image.open(tmp_path / "want.png").convert("L"), dtype=float)
    got = np.asarray(Image.open(tmp_path / "got.png").convert("L"), dtype=float)
    assert abs(got.shape[0] - want.shape[0]) <= 2 and abs(got.shape[1] - want.shape[1]) <= 2
    if outside:  # the text beyond the edge is in the picture
        assert got.shape[1] > figure_width_px + 50
    h, w = min(got.shape[0], want.shape[0]), min(got.shape[1], want.shape[1])
    diff = np.mean(np.abs(got[:h, :w] - want[:h, :w]))
    assert diff < 0.2 * np.mean(np.abs(want[:h, :w] - 255.0))  # the same picture, up to a sub-pixel shift


def test_chip_breakdown_bars_are_the_chip_components():
    """One bar per nonzero component of Report.chip.breakdown, its value in the axis' unit; refused without a chip."""
    import models
    from hwsim import plots
    from hwsim.photonic import cost, map

    rep = cost(map(models.get("lenet-300-100", pretrained=True)))
    ax = plots.plot_chip_breakdown(rep, "static_power_w")
    want = {n: c.static_power_w for n, c in rep.chip.breakdown.items() if c.static_power_w > 0}
    bars = {t.get_text(): p.get_width() for t, p in zip(ax.get_yticklabels(), ax.patches)}
    assert set(bars) == set(want) and "laser" in bars  # the always-on laser: in no layer's static power
    assert ax.get_xlabel() == "chip static power (W)"
    for n, v in want.items():
        assert bars[n] == pytest.approx(v)
    import dataclasses
    with pytest.raises(ValueError, match="no chip level"):
        plots.plot_chip_breakdown(dataclasses.replace(rep, chip=None))
