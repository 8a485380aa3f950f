"""What a user reads to judge a run, asserted on the figure objects: learning curves (train and
validation in one colour per split, the test result as a labelled horizontal line, integer epoch
ticks), ROC / PR (legend outside the axes, averages in colours no class uses, spelled-out axis
names) and a confusion matrix that stays readable at 50 classes."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.ticker import MaxNLocator

from audioconv.evaluation import evaluate, plots

# CSVLogger rows of a 4-epoch run, then the test of the best checkpoint (logged at epoch 4).
HEADER = "epoch,step,train/acc,train/loss_epoch,val/acc,val/loss,test/acc,test/loss\n"
METRICS_CSV = HEADER + "".join(
    f"{e},{e},{0.5 + 0.1 * e},{1 - 0.2 * e},,,,\n{e},{e},,,{0.45 + 0.1 * e},{1.1 - 0.2 * e},,\n"
    for e in range(4)
) + "4,4,,,,,0.91,0.3\n"  # fmt: skip


def _draw(fig):
    """Lay the figure out as a PNG would be (Agg canvas), so extents and ticks are final."""
    FigureCanvasAgg(fig).draw()
    return fig


def _learning_curves(tmp_path):
    csv = tmp_path / "metrics.csv"
    csv.write_text(METRICS_CSV)
    fig = _draw(plots.learning_curves_figure(plots.learning_curves_table(csv)))
    return [ax for ax in fig.axes if ax.get_visible() and ax.lines]


def test_learning_curves_colour_per_split_and_test_as_a_line(tmp_path):
    axes = _learning_curves(tmp_path)
    assert [ax.get_title() for ax in axes] == ["accuracy", "loss"]
    for ax in axes:
        by_label = {line.get_label(): line for line in ax.lines}
        labels = [text.get_text() for text in ax.get_legend().get_texts()]
        assert labels[:2] == ["train", "validation"] and labels[2].startswith("test: ")
        assert to_rgba(by_label["train"].get_color()) == to_rgba(plots.SPLIT_COLORS["train"])
        assert to_rgba(by_label["validation"].get_color()) == to_rgba(plots.SPLIT_COLORS["val"])
        assert list(by_label["train"].get_xdata()) == [0, 1, 2, 3]
        (test,) = [line for label, line in by_label.items() if label.startswith("test: ")]
        # a horizontal line across the axes (axes x coordinates 0..1), not a point at epoch 4
        assert list(test.get_xdata()) == [0, 1] and len(set(test.get_ydata())) == 1
        assert ax.get_xlim()[1] < 4
    accuracy_test = [line for line in axes[0].lines if line.get_label().startswith("test")][0]
    assert accuracy_test.get_label() == "test: 0.9100" and accuracy_test.get_ydata()[0] == 0.91


def test_learning_curves_have_integer_epoch_ticks(tmp_path):
    for ax in _learning_curves(tmp_path):
        locator = ax.xaxis.get_major_locator()
        assert isinstance(locator, MaxNLocator) and locator._integer
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)
        assert ax.get_xlabel() == "epoch"


def _multiclass(classes: int, n: int = 300):
    rng = np.random.default_rng(0)
    y = np.arange(n) % classes
    scores = rng.dirichlet(np.ones(classes), n) + 2 * np.eye(classes)[y] * rng.random((n, 1))
    return evaluate(y, scores / scores.sum(1, keepdims=True), task="multiclass")


def test_roc_and_pr_legend_outside_axes_averages_in_their_own_colours():
    report = _multiclass(4)
    auc = dict(report.per_class["auc"])
    averages = {k[4:]: report.curves[k] for k in ("roc_micro", "roc_macro")}
    figures = {
        "roc": plots.roc_figure(report.curves["roc"], averages, auc),
        "pr": plots.pr_figure(report.curves["pr"], {"micro": report.curves["pr_micro"]}, {}),
    }
    for fig in figures.values():
        _draw(fig)
        (ax,) = fig.axes
        legend = ax.get_legend()
        renderer = fig.canvas.get_renderer()
        assert legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1
        class_colours = {
            to_rgba(line.get_color()) for line in ax.lines if " average " not in line.get_label()
            and line.get_label() != "chance"
        }  # fmt: skip
        average_colours = {
            to_rgba(line.get_color()) for line in ax.lines if " average " in line.get_label()
        }
        assert len(class_colours) == 4 and average_colours
        assert not class_colours & average_colours
    roc_ax, pr_ax = figures["roc"].axes[0], figures["pr"].axes[0]
    assert (roc_ax.get_xlabel(), roc_ax.get_ylabel()) == (
        "false positive rate",
        "true positive rate",
    )
    assert (pr_ax.get_xlabel(), pr_ax.get_ylabel()) == ("recall", "precision")


def test_confusion_matrix_at_50_classes_is_normalised_and_sized_to_fit():
    report = _multiclass(50, n=500)
    fig = plots.confusion_matrix_figure(
        report.confusion_matrix, report.confusion_matrix_normalized, report.class_names
    )
    _draw(fig)
    images = [image for ax in fig.axes for image in ax.images]
    assert len(images) == 1  # the normalised view only
    np.testing.assert_allclose(images[0].get_array(), report.confusion_matrix_normalized)
    assert images[0].get_clim() == (0, 1.0)
    width, height = fig.get_size_inches()
    assert width <= 16 and height <= 14
    ax = images[0].axes
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == list(report.class_names)
    assert all(4 <= t.get_fontsize() <= 8 for t in ax.get_xticklabels() + ax.get_yticklabels())
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert not ax.texts  # no unreadable cell annotations


def test_few_classes_keep_counts_beside_the_normalised_view():
    report = _multiclass(3, n=30)
    fig = plots.confusion_matrix_figure(
        report.confusion_matrix, report.confusion_matrix_normalized, report.class_names
    )
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == ["counts", "normalised by true class (rows sum to 1)"]
