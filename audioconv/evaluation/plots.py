"""Evaluation figures: confusion matrices, ROC / PR curves, learning curves, regression plots.

Every function returns a ``matplotlib.figure.Figure`` built without pyplot (no global state, no
GUI backend needed); :func:`png_bytes` renders one to PNG bytes for an atomic write.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from audioconv.errors import ConfigError

# Beyond this many classes, cells are not annotated, only the normalised confusion matrix is
# drawn, and per-class curves are grey without a legend entry.
_MAX_ANNOTATED = 20
_MAX_LEGEND = 10
# One colour per split in every learning-curve panel; averages in colours no class curve uses
# (class curves: the tab10 cycle, or light grey when there are many).
SPLIT_COLORS = {"train": "tab:blue", "val": "tab:orange", "test": "black"}
SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}
AVERAGE_STYLES = {
    "micro": {"color": "black", "linestyle": "--"},
    "macro": {"color": "black", "linestyle": "-."},
}
_METRIC_NAMES = {"acc": "accuracy", "mae": "mean absolute error"}
_AXIS_NAMES = {
    "fpr": "false positive rate",
    "tpr": "true positive rate",
    "recall": "recall",
    "precision": "precision",
}
# Learning-curve columns: "train/loss", "val_accuracy", "train/loss_epoch", ...
_STAGE = re.compile(r"^(train|val|valid|validation|test)[/_](.+?)(_epoch|_step)?$")


def png_bytes(fig: Figure, *, dpi: int = 100) -> bytes:
    """Render ``fig`` to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _heatmap(
    ax, matrix: np.ndarray, labels: Sequence[str], *, title: str, fmt: str, vmax=None
) -> None:
    """Draw a ``(C, C)`` matrix, rows = true class, columns = predicted class."""
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=vmax)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ticks = np.arange(len(labels))
    rotate = len(labels) > 4
    size = 8 if len(labels) <= _MAX_ANNOTATED else max(4, min(8, 350 / len(labels)))
    ax.set_xticks(
        ticks, labels, rotation=90 if len(labels) > _MAX_ANNOTATED else 45 if rotate else 0,
        ha="right" if rotate and len(labels) <= _MAX_ANNOTATED else "center", fontsize=size,
    )  # fmt: skip
    ax.set_yticks(ticks, labels, fontsize=size)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    if len(labels) <= _MAX_ANNOTATED:
        middle = matrix.max() / 2 if matrix.size else 0
        for (i, j), value in np.ndenumerate(matrix):
            color = "white" if value > middle else "black"
            ax.text(j, i, format(value, fmt), ha="center", va="center", color=color, fontsize=8)


def confusion_matrix_figure(
    counts: np.ndarray, normalized: np.ndarray, class_names: Sequence[str]
) -> Figure:
    """Counts and row-normalised ``(C, C)`` confusion matrices side by side; beyond 20 classes
    only the normalised one (colour = the fraction of each true class), sized to stay readable
    (at most 14 inches a side, tick labels 4-8 pt)."""
    names = len(class_names)
    title = "normalised by true class (rows sum to 1)"
    if names > _MAX_ANNOTATED:
        side = min(14.0, 3.0 + 0.2 * names)
        fig = Figure(figsize=(side + 1.2, side), layout="constrained")
        _heatmap(fig.subplots(), normalized, class_names, title=title, fmt=".2f", vmax=1.0)
        return fig
    side = 3.0 + 0.4 * names
    fig = Figure(figsize=(2 * side + 1, side), layout="constrained")
    left, right = fig.subplots(1, 2)
    _heatmap(left, counts, class_names, title="counts", fmt="d")
    _heatmap(right, normalized, class_names, title=title, fmt=".2f", vmax=1.0)
    return fig


def multilabel_confusion_figure(confusion: np.ndarray, class_names: Sequence[str]) -> Figure:
    """One 2x2 ``[[tn, fp], [fn, tp]]`` heatmap per label from a ``(C, 2, 2)`` stack."""
    cols = min(4, len(class_names))
    rows = -(-len(class_names) // cols)
    fig = Figure(figsize=(3.2 * cols, 3.0 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, matrix, name in zip(axes, confusion, class_names):
        _heatmap(ax, matrix, ["0", "1"], title=name, fmt="d")
    for ax in axes[len(class_names) :]:
        ax.set_axis_off()
    return fig


def _curve_figure(
    curves: Mapping[str, Mapping[str, list[float]]],
    averages: Mapping[str, Mapping[str, list[float]]],
    values: Mapping[str, float],
    *,
    x: str,
    y: str,
    title: str,
    value_name: str,
    chance: bool,
) -> Figure:
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.subplots()
    many = len(curves) > _MAX_LEGEND
    for k, (name, points) in enumerate(curves.items()):
        label = None if many else f"{name} ({value_name} {values.get(name, float('nan')):.3f})"
        style = (
            {"color": "0.75", "linewidth": 0.8} if many else {"color": f"C{k}", "linewidth": 1.2}
        )
        ax.plot(points[x], points[y], label=label, **style)
    for name, points in averages.items():
        label = f"{name} average ({value_name} {values.get(name, float('nan')):.3f})"
        style = AVERAGE_STYLES.get(name, {"color": "black", "linestyle": ":"})
        ax.plot(points[x], points[y], label=label, linewidth=2, **style)
    if not curves and not averages:
        ax.text(
            0.5,
            0.5,
            "undefined: y_true has a single class\n(see the report notes)",
            ha="center",
            va="center",
        )
    if chance:
        ax.plot([0, 1], [0, 1], color="0.45", linestyle=":", linewidth=1, label="chance")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel(_AXIS_NAMES.get(x, x))
    ax.set_ylabel(_AXIS_NAMES.get(y, y))
    ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:  # outside the axes: it never hides a curve
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, borderaxespad=0)
    return fig


def roc_figure(
    curves: Mapping[str, Mapping[str, list[float]]],
    averages: Mapping[str, Mapping[str, list[float]]],
    auc: Mapping[str, float],
) -> Figure:
    """ROC curves: ``curves`` maps class -> ``{"fpr", "tpr"}``; ``averages`` micro / macro ones."""
    return _curve_figure(
        curves,
        averages,
        auc,
        x="fpr",
        y="tpr",
        title="ROC (receiver operating characteristic)",
        value_name="AUC",
        chance=True,
    )


def pr_figure(
    curves: Mapping[str, Mapping[str, list[float]]],
    averages: Mapping[str, Mapping[str, list[float]]],
    ap: Mapping[str, float],
) -> Figure:
    """Precision-recall curves: class -> ``{"recall", "precision"}``; ``averages`` the micro one."""
    return _curve_figure(
        curves,
        averages,
        ap,
        x="recall",
        y="precision",
        title="precision-recall",
        value_name="AP",
        chance=False,
    )


def learning_curves_table(metrics_csv: str | os.PathLike) -> pd.DataFrame:
    """Per-epoch values of every train / val / test metric in a Lightning CSVLogger file.

    Rows of ``metrics.csv`` are sparse (each logging call fills a few columns); values are
    averaged per epoch, so step-level columns become epoch means. Returns a frame indexed by
    epoch whose columns keep their logged names (``train/loss``, ``val/accuracy``, ...).

    Raises:
        ConfigError: the file is missing or has no ``epoch`` column.
    """
    if not os.path.isfile(metrics_csv):
        raise ConfigError(
            f"metrics_csv={str(metrics_csv)!r} does not exist: pass the CSV logger file"
        )
    frame = pd.read_csv(metrics_csv)
    if "epoch" not in frame.columns:
        raise ConfigError(
            f"{metrics_csv}: no 'epoch' column (found {list(frame.columns)}): pass the "
            "metrics.csv written by Lightning's CSVLogger"
        )
    columns = [c for c in frame.columns if _STAGE.match(c)]
    frame = frame.dropna(subset=["epoch"])
    return frame.groupby(frame["epoch"].astype(int))[columns].mean().dropna(axis=1, how="all")


def _metric_groups(columns: Sequence[str]) -> dict[str, list[str]]:
    """Group ``train/loss``, ``val/loss``, ... by metric name; ``*_epoch`` beats ``*_step``."""
    groups: dict[str, dict[str, str]] = {}
    for column in columns:
        stage, metric, suffix = _STAGE.match(column).groups()
        chosen = groups.setdefault(metric, {})
        if stage not in chosen or suffix == "_epoch":
            chosen[stage] = column
    return {metric: list(stages.values()) for metric, stages in groups.items()}


def learning_curves_figure(table: pd.DataFrame) -> Figure:
    """One panel per metric (accuracy first): train and validation curves against epoch, in the
    same colour per split in every panel (:data:`SPLIT_COLORS`), and the test result (of the
    tested checkpoint) as a labelled horizontal line; epoch ticks are integers.

    ``table`` is what :func:`learning_curves_table` returns.
    """
    groups = _metric_groups(list(table.columns))
    if not groups:
        raise ConfigError(
            "metrics.csv has no train/* or val/* columns to plot: log metrics with a "
            "'train/' or 'val/' prefix"
        )
    from matplotlib.ticker import MaxNLocator

    groups = dict(sorted(groups.items(), key=lambda item: item[0] not in ("acc", "accuracy")))
    cols = min(3, len(groups))
    rows = -(-len(groups) // cols)
    fig = Figure(figsize=(4.5 * cols, 3.5 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, (metric, columns) in zip(axes, groups.items()):
        stages = {
            column: _STAGE.match(column).group(1)[:5].replace("valid", "val") for column in columns
        }
        for column in sorted(columns, key=lambda c: list(SPLIT_COLORS).index(stages[c])):
            stage = stages[column]  # legend order: train, val, test
            series = table[column].dropna()
            color, name = SPLIT_COLORS[stage], SPLIT_NAMES[stage]
            if stage == "test":  # one evaluation after training, not an epoch
                value = float(series.iloc[-1])
                ax.axhline(value, color=color, linestyle="--", linewidth=1.2,
                           label=f"{name}: {value:.4f}")  # fmt: skip
            else:
                ax.plot(series.index, series.to_numpy(), marker="o", markersize=3, color=color,
                        label=name)  # fmt: skip
        ax.set_title(_METRIC_NAMES.get(metric, metric))
        ax.set_xlabel("epoch")
        ax.set_ylabel(_METRIC_NAMES.get(metric, metric))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
    for ax in axes[len(groups) :]:
        ax.set_axis_off()
    return fig


def predicted_vs_true_figure(predictions: Mapping[str, Mapping[str, list[float]]]) -> Figure:
    """Scatter of predicted against true values per output, with the ``y = x`` line."""
    fig = Figure(figsize=(4.5 * len(predictions), 4.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(predictions))).ravel()
    for ax, (name, points) in zip(axes, predictions.items()):
        true, pred = np.asarray(points["y_true"]), np.asarray(points["y_pred"])
        ax.scatter(true, pred, s=8, alpha=0.6)
        low, high = min(true.min(), pred.min()), max(true.max(), pred.max())
        ax.plot([low, high], [low, high], color="0.4", linestyle="--", linewidth=1)
        ax.set_xlabel("true")
        ax.set_ylabel("predicted")
        ax.set_title(name)
    return fig


def residuals_figure(predictions: Mapping[str, Mapping[str, list[float]]]) -> Figure:
    """Histogram of residuals ``predicted - true`` per output."""
    fig = Figure(figsize=(4.5 * len(predictions), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(predictions))).ravel()
    for ax, (name, points) in zip(axes, predictions.items()):
        residual = np.asarray(points["y_pred"]) - np.asarray(points["y_true"])
        ax.hist(residual, bins="auto", color="tab:blue", alpha=0.8)
        ax.axvline(0.0, color="0.3", linestyle="--", linewidth=1)
        ax.set_xlabel("predicted - true")
        ax.set_ylabel("count")
        ax.set_title(name)
    return fig
