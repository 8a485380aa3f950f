"""Evaluation reports: :func:`evaluate` builds a :class:`Report`; ``save`` writes JSON, MD, PNGs.

``report.json`` schema (version 1), the same for every task::

    {
      "schema_version": 1,
      "task": "binary" | "multiclass" | "multilabel" | "regression",
      "class_names": [str, ...],        # classes (labels); regression: output names
      "n_samples": int,
      "threshold": float,               # binary / multilabel decision threshold
      "level": "clip" | "window" | null,  # what one sample is: a whole clip (its windows'
                                        # probabilities averaged, audioconv.contract) or one
                                        # model input window; null: not stated
      "metrics": {name: float | null},  # *_score higher is better, *_loss / *_error lower
      "confusion_matrix": [[int]] | null,            # (C, C) rows = true, columns = predicted;
                                                     # multilabel (C, 2, 2) [[tn, fp], [fn, tp]];
                                                     # regression null
      "confusion_matrix_normalized": [[float]] | null,  # each row divided by its sum
      "per_class": {class: {column: number | null}},  # Report.per_class as records
      "curves": {...},                  # ROC / PR points (see metrics._ovr_curves);
                                        # regression: {"predictions": {output: {y_true, y_pred}}}
      "notes": [str, ...],              # why a value is null (e.g. a class absent from y_true)
      "baseline": {...}                 # optional: the classical baseline on the same split
                                        # (classifier, params, selection, val_accuracy, metrics;
                                        # comparison: the model - baseline rows of
                                        # evaluation.compare.Comparison, same test samples)
    }

NaN values (undefined metrics) are written as ``null``. A multi-head report
(:class:`MultiReport`) writes ``{"schema_version": 1, "heads": {head: <the schema above>}}``.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audioconv._atomic import atomic_write_bytes, atomic_write_text
from audioconv.errors import ConfigError
from audioconv.evaluation import metrics as M
from audioconv.evaluation import plots

SCHEMA_VERSION = 1
_REQUIRED_KEYS = ("task", "class_names", "n_samples", "metrics", "confusion_matrix")
_HEAD_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_SUMMARY_COLUMNS = ("precision", "recall", "specificity", "f1", "support", "auc")


def evaluate(
    y_true: Any,
    y_score: Any,
    *,
    task: str,
    class_names: Sequence[str] | None = None,
    threshold: float = 0.5,
    level: str | None = None,
) -> Report:
    """Evaluate predictions (what ``predict_step`` returns) into a :class:`Report`.

    Args:
        y_true: binary ``(n,)`` in {0, 1}; multiclass ``(n,)`` labels or one-hot ``(n, C)``;
            multilabel ``(n, C)`` multi-hot; regression ``(n,)`` or ``(n, k)``.
        y_score: binary ``(n,)`` P(positive) (or ``(n, 2)`` probabilities); multiclass ``(n, C)``
            softmax probabilities; multilabel ``(n, C)`` sigmoid probabilities; regression the
            predictions, shaped like ``y_true``. NumPy arrays, lists or torch tensors.
        task: ``"binary"``, ``"multiclass"``, ``"multilabel"`` or ``"regression"``.
        class_names: one name per class (binary: negative, positive; regression: per output).
        threshold: binary / multilabel decision threshold: positive if ``score >= threshold``
            (:func:`audioconv.contract.is_positive`).
        level: what one sample is, written to the report: ``"clip"`` (one score per clip, the
            mean over its windows) or ``"window"`` (one per model input); ``None``: not stated.

    Raises:
        ConfigError: bad task / threshold / names, or inputs whose shapes or values do not fit
            the task (the message names them and the fix).

    Example:
        >>> r = evaluate([0, 1, 2], [[.1, .1, .8], [.3, .4, .3], [.3, .3, .4]], task="multiclass")
        >>> round(r.metrics["accuracy_score"], 4), round(r.metrics["log_loss"], 3)
        (0.6667, 1.378)
    """
    t, s, names = M.validate_inputs(
        y_true, y_score, task=task, class_names=class_names, threshold=threshold
    )
    confusion = normalized = None  # regression has no confusion matrix
    notes: list[str] = []
    if task == "regression":
        metrics, per_class, curves = M.regression_metrics(t, s, class_names=names)
    else:
        metrics, per_class, confusion, normalized, curves, notes = M.classification_metrics(
            t, s, task=task, threshold=float(threshold), class_names=names
        )
    return Report(
        task=task,
        class_names=names,
        n_samples=len(t),
        metrics=metrics,
        per_class=per_class,
        confusion_matrix=confusion,
        confusion_matrix_normalized=normalized,
        curves=curves,
        threshold=float(threshold),
        notes=notes,
        level=level,
    )


@dataclass(eq=False)
class Report:
    """The evaluation of one task (one model head).

    Attributes:
        task: the task kind.
        class_names: ``C`` class names (regression: ``k`` output names).
        n_samples: number of evaluated samples ``n``.
        metrics: scalar metrics (``*_score`` higher is better, ``*_loss`` / ``*_error`` lower).
        per_class: one row per class with ``tp, fn, fp, tn, support, precision, recall,
            specificity, f1, fpr, auc, ap`` (regression: per output ``mse, rmse, mae, r2``).
        confusion_matrix: ``(C, C)`` counts, rows = true class; multilabel ``(C, 2, 2)``;
            regression ``None``.
        confusion_matrix_normalized: ``confusion_matrix`` with each row divided by its sum.
        curves: ROC / PR points (regression: true and predicted values for the plots).
        threshold: the binary / multilabel decision threshold used.
        level: ``"clip"`` or ``"window"``: what one evaluated sample is (``None``: not stated).
        notes: explanations of undefined (NaN) values.
        baseline: the classical baseline on the same test split (``audioconv.baseline``), or
            ``None``; shown beside the model's metrics.
    """

    task: str
    class_names: list[str]
    n_samples: int
    metrics: dict[str, float]
    per_class: pd.DataFrame
    confusion_matrix: np.ndarray | None = None
    confusion_matrix_normalized: np.ndarray | None = None
    curves: dict = field(default_factory=dict)
    threshold: float = 0.5
    notes: list[str] = field(default_factory=list)
    baseline: dict[str, Any] | None = None
    level: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``report.json`` content: JSON-safe, NaN -> ``None`` (see the module docstring)."""
        columns = list(self.per_class.columns)
        per_class = {
            str(name): {col: _json_value(v) for col, v in zip(columns, values)}
            for name, *values in self.per_class.itertuples()
        }
        return {
            "schema_version": SCHEMA_VERSION,
            "task": self.task,
            "class_names": list(self.class_names),
            "n_samples": int(self.n_samples),
            "threshold": float(self.threshold),
            "level": self.level,
            "metrics": {k: _json_value(v) for k, v in self.metrics.items()},
            "confusion_matrix": _json_array(self.confusion_matrix),
            "confusion_matrix_normalized": _json_array(self.confusion_matrix_normalized),
            "per_class": per_class,
            "curves": self.curves,
            "notes": list(self.notes),
            **({} if self.baseline is None else {"baseline": self.baseline}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """Rebuild a report from :meth:`to_dict` output (``None`` -> NaN)."""
        missing = [k for k in _REQUIRED_KEYS if k not in data]
        if missing:
            hint = " (a multi-head report: use MultiReport)" if "heads" in data else ""
            raise ConfigError(f"report data lacks keys {missing}{hint}")
        if data["task"] not in M.TASKS:
            raise ConfigError(f"report task {data['task']!r} is not one of {M.TASKS}")
        columns = M.REGRESSION_COLUMNS if data["task"] == "regression" else M.CLASS_COLUMNS
        index_name = "output" if data["task"] == "regression" else "class"
        rows = data.get("per_class", {})
        # the built-in columns, then those of per-class metrics (register_metric(per_class=True))
        columns = [*columns, *(c for c in next(iter(rows.values()), {}) if c not in columns)]
        per_class = pd.DataFrame(
            [[_nan_if_none(rows[name][c]) for c in columns] for name in rows],
            index=pd.Index(list(rows), name=index_name),
            columns=list(columns),
        )
        return cls(
            task=data["task"],
            class_names=list(data["class_names"]),
            n_samples=int(data["n_samples"]),
            metrics={k: _nan_if_none(v) for k, v in data["metrics"].items()},
            per_class=per_class,
            confusion_matrix=_array_or_none(data["confusion_matrix"]),
            confusion_matrix_normalized=_array_or_none(data.get("confusion_matrix_normalized")),
            curves=dict(data.get("curves", {})),
            threshold=float(data.get("threshold", 0.5)),
            notes=list(data.get("notes", [])),
            baseline=data.get("baseline"),
            level=data.get("level"),
        )

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> Report:
        """Load a ``report.json`` written by :meth:`save`."""
        return cls.from_dict(_read_json(path))

    def to_markdown(self) -> str:
        """Markdown: metrics, per-class table, confusion matrix and notes."""
        return _markdown(self, title=f"Evaluation report ({self.task})", level=1)

    def summary(self) -> str:
        """A short plain-text table of the headline metrics and the per-class table."""
        samples = f"{self.level}s" if self.level else "samples"
        lines = [f"{self.task}: {self.n_samples} {samples}, {len(self.class_names)} {self._unit()}"]
        shown = [k for k in M.summary_metrics() if k in self.metrics]  # registered summary=True
        width = max(len(k) for k in shown)
        lines += [f"  {k:<{width}}  {_fmt(self.metrics[k])}" for k in shown]
        columns = [c for c in _SUMMARY_COLUMNS if c in self.per_class.columns]
        if columns:  # and the per-class metrics registered with summary=True
            columns += [c for c in M.summary_metrics() if c in self.per_class.columns]
        table = self.per_class[columns or list(self.per_class.columns)]
        lines.append(table.to_string(float_format=lambda v: f"{v:.4f}", na_rep="n/a"))
        if self.baseline is not None:
            base = self.baseline["metrics"]
            lines.append(
                f"classical baseline ({self.baseline['classifier']} on MFCC statistics): "
                f"accuracy {_fmt(_nan_if_none(base.get('accuracy_score')))}, balanced accuracy "
                f"{_fmt(_nan_if_none(base.get('balanced_accuracy_score')))}"
            )
            lines += [f"  {line}" for line in _comparison_lines(self.baseline)]
        return "\n".join(lines)

    def _unit(self) -> str:
        return "outputs" if self.task == "regression" else "classes"

    def figures(self, *, prefix: str = "") -> dict[str, bytes]:
        """The report's PNGs rendered in memory: ``{file name: PNG bytes}``."""
        if self.task == "regression":
            predictions = self.curves["predictions"]
            return {
                f"{prefix}predicted_vs_true.png": plots.png_bytes(
                    plots.predicted_vs_true_figure(predictions)
                ),
                f"{prefix}residuals.png": plots.png_bytes(plots.residuals_figure(predictions)),
            }
        if self.task == "multilabel":
            confusion = plots.multilabel_confusion_figure(self.confusion_matrix, self.class_names)
        else:
            confusion = plots.confusion_matrix_figure(
                self.confusion_matrix, self.confusion_matrix_normalized, self.class_names
            )
        auc = dict(self.per_class["auc"])
        auc.update(micro=self.metrics.get("roc_auc_micro_score", math.nan))
        auc.update(macro=self.metrics.get("roc_auc_macro_score", math.nan))
        ap = dict(self.per_class["ap"])
        ap.update(micro=self.metrics.get("average_precision_micro_score", math.nan))
        roc_avg = {k[4:]: self.curves[k] for k in ("roc_micro", "roc_macro") if k in self.curves}
        pr_avg = {"micro": self.curves["pr_micro"]} if "pr_micro" in self.curves else {}
        return {
            f"{prefix}confusion_matrix.png": plots.png_bytes(confusion),
            f"{prefix}roc_curve.png": plots.png_bytes(
                plots.roc_figure(self.curves["roc"], roc_avg, auc)
            ),
            f"{prefix}pr_curve.png": plots.png_bytes(
                plots.pr_figure(self.curves["pr"], pr_avg, ap)
            ),
        }

    def save(
        self,
        directory: str | os.PathLike,
        *,
        metrics_csv: str | os.PathLike | None = None,
        prefix: str = "",
        figures: bool = True,
    ) -> list[Path]:
        """Write ``report.json``, ``report.md`` and the PNGs (``figures=False``: none) into
        ``directory``.

        PNGs: classification ``confusion_matrix``, ``roc_curve``, ``pr_curve``; regression
        ``predicted_vs_true``, ``residuals``; ``learning_curves`` when ``metrics_csv`` (a Lightning
        CSVLogger file) is given. Every name starts with ``prefix``. Everything is rendered before
        the first write and each file is written atomically, so a failure leaves the files of an
        earlier save intact. Returns the written paths.
        """
        files: dict[str, bytes | str] = {
            f"{prefix}report.json": _dump_json(self.to_dict()),
            f"{prefix}report.md": self.to_markdown(),
            **(self.figures(prefix=prefix) if figures else {}),
        }
        if metrics_csv is not None and figures:
            files.update(_learning_curves(metrics_csv, prefix))
        return _write_all(directory, files)


@dataclass(eq=False)
class MultiReport:
    """Reports of a multi-output model, one per named head (``{"digit": Report, ...}``)."""

    heads: dict[str, Report]

    def __post_init__(self) -> None:
        if not self.heads:
            raise ConfigError("MultiReport needs at least one head")
        for name in self.heads:
            _check_head_name(name)

    def to_dict(self) -> dict[str, Any]:
        """``{"schema_version": 1, "heads": {head: Report.to_dict()}}``."""
        return {
            "schema_version": SCHEMA_VERSION,
            "heads": {name: report.to_dict() for name, report in self.heads.items()},
        }

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> MultiReport:
        """Load a multi-head ``report.json`` written by :meth:`save`."""
        data = _read_json(path)
        if "heads" not in data:
            raise ConfigError(f"{path}: no 'heads' key: a single-head report, use Report.from_json")
        return cls({name: Report.from_dict(d) for name, d in data["heads"].items()})

    def to_markdown(self) -> str:
        """Markdown with one section per head."""
        sections = [
            _markdown(r, title=f"{name} ({r.task})", level=2) for name, r in self.heads.items()
        ]
        return "# Evaluation report\n\n" + "\n".join(sections)

    def summary(self) -> str:
        """Each head's :meth:`Report.summary`, under its name."""
        return "\n\n".join(f"[{name}] {r.summary()}" for name, r in self.heads.items())

    def save(
        self,
        directory: str | os.PathLike,
        *,
        metrics_csv: str | os.PathLike | None = None,
        prefix: str = "",
    ) -> list[Path]:
        """Write one ``report.json`` and ``report.md`` with a section per head, and each head's
        PNGs named ``{prefix}{head}_<plot>.png`` (see :meth:`Report.save`). Returns the paths."""
        files: dict[str, bytes | str] = {
            f"{prefix}report.json": _dump_json(self.to_dict()),
            f"{prefix}report.md": self.to_markdown(),
        }
        for name, report in self.heads.items():
            files.update(report.figures(prefix=f"{prefix}{name}_"))
        if metrics_csv is not None:
            files.update(_learning_curves(metrics_csv, prefix))
        return _write_all(directory, files)


def evaluate_many(heads: Mapping[str, Sequence[Any]], *, threshold: float = 0.5) -> MultiReport:
    """Evaluate each head of a multi-output model into one :class:`MultiReport`.

    ``heads`` maps a head name to ``(y_true, y_score, task)`` or
    ``(y_true, y_score, task, class_names)``, each as for :func:`evaluate`.
    """
    reports = {}
    for name, spec in heads.items():
        _check_head_name(name)
        if not isinstance(spec, Sequence) or len(spec) not in (3, 4):
            raise ConfigError(
                f"head {name!r}: pass (y_true, y_score, task) or (y_true, y_score, task, "
                "class_names)"
            )
        y_true, y_score, task, *names = spec
        reports[name] = evaluate(
            y_true, y_score, task=task, class_names=names[0] if names else None, threshold=threshold
        )
    return MultiReport(reports)


def report_differences(
    a: Report | MultiReport, b: Report | MultiReport, *, atol: float = 1e-9
) -> list[str]:
    """Where two reports differ: ``"path: a_value != b_value"`` lines, empty if they match.

    Numbers compare with absolute tolerance ``atol`` (NaN equals NaN); everything in
    ``report.json`` is compared (metrics, per-class table, confusion matrices, curves, notes).
    """
    out: list[str] = []
    _diff(a.to_dict(), b.to_dict(), "", atol, out)
    return out


def reports_equal(a: Report | MultiReport, b: Report | MultiReport, *, atol: float = 1e-9) -> bool:
    """True if :func:`report_differences` finds nothing."""
    return not report_differences(a, b, atol=atol)


def _diff(a: Any, b: Any, path: str, atol: float, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            out.append(f"{path or '/'}: keys {list(a)} != {list(b)}")
            return
        for key in a:
            _diff(a[key], b[key], f"{path}/{key}", atol, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: length {len(a)} != {len(b)}")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            _diff(x, y, f"{path}[{i}]", atol, out)
    elif _is_number(a) and _is_number(b):
        if abs(a - b) > atol:
            out.append(f"{path}: {a!r} != {b!r}")
    elif a != b:
        out.append(f"{path}: {a!r} != {b!r}")


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _check_head_name(name: str) -> None:
    if not isinstance(name, str) or not _HEAD_NAME.match(name):
        raise ConfigError(
            f"head name {name!r} is not usable in file names: use letters, digits, '_', '.', '-'"
        )


def _json_value(v: Any) -> Any:
    """A scalar for JSON: NumPy numbers -> Python, NaN / inf -> None."""
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return float(v) if math.isfinite(v) else None
    return v


def _json_array(a: np.ndarray | None) -> list | None:
    if a is None:
        return None
    return np.vectorize(_json_value, otypes=[object])(a).tolist() if a.size else a.tolist()


def _nan_if_none(v: Any) -> Any:
    return math.nan if v is None else v


def _array_or_none(data: list | None) -> np.ndarray | None:
    if data is None:
        return None
    a = np.asarray(data, dtype=object)
    a[np.equal(a, None)] = math.nan
    return a.astype(np.float64 if any(isinstance(v, float) for v in a.flat) else np.int64)


def _dump_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def _read_json(path: str | os.PathLike) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise ConfigError(f"report file {str(path)!r} does not exist: pass a saved report.json")
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a report (the JSON top level is not an object)")
    return data


def _learning_curves(metrics_csv: str | os.PathLike, prefix: str) -> dict[str, bytes]:
    figure = plots.learning_curves_figure(plots.learning_curves_table(metrics_csv))
    return {f"{prefix}learning_curves.png": plots.png_bytes(figure)}


def _write_all(directory: str | os.PathLike, files: Mapping[str, bytes | str]) -> list[Path]:
    """Write already-rendered files atomically, one by one, ``report.json`` last (a run folder
    holding it is complete: a run killed before is resumed, one killed after is finished);
    returns their paths."""
    directory = Path(directory)
    written = []
    ordered = sorted(files.items(), key=lambda item: item[0].endswith("report.json"))
    for name, content in ordered:
        path = directory / name
        if isinstance(content, str):
            atomic_write_text(path, content)
        else:
            atomic_write_bytes(path, content)
        written.append(path)
    return written


def _fmt(v: Any) -> str:
    """A table cell: integers as is, floats with 4 decimals, NaN as ``n/a``."""
    if isinstance(v, int | np.integer) and not isinstance(v, bool):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return "n/a" if math.isnan(v) else f"{v:.4f}"
    return str(v).replace("|", "\\|")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table (``tabulate`` is not a dependency)."""
    lines = ["| " + " | ".join(_fmt(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _markdown(report: Report, *, title: str, level: int) -> str:
    h = "#" * level
    parts = [
        f"{h} {title}\n",
        f"{report.n_samples} {f'{report.level}s' if report.level else 'samples'}, "
        f"{len(report.class_names)} {report._unit()}"
        + ("" if report.task in ("multiclass", "regression") else f", threshold {report.threshold}")
        + ".\n",
        f"{h}# Metrics\n",
        _md_table(["metric", "value"], list(report.metrics.items())),
    ]
    first = "output" if report.task == "regression" else "class"
    parts += [
        f"{h}# Per {first}\n",
        _md_table(
            [first, *report.per_class.columns],
            [list(row) for row in report.per_class.itertuples()],
        ),
    ]
    if report.task in ("binary", "multiclass"):
        parts += [
            f"{h}# Confusion matrix (rows = true, columns = predicted)\n",
            _md_table(
                ["true \\ predicted", *report.class_names],
                [[n, *row] for n, row in zip(report.class_names, report.confusion_matrix)],
            ),
        ]
    if report.baseline is not None:
        parts += _baseline_markdown(report, h)
    if report.notes:
        parts += [f"{h}# Notes\n", "\n".join(f"- {n}" for n in report.notes) + "\n"]
    return "\n".join(parts)


def _baseline_markdown(report: Report, h: str) -> list[str]:
    """The model's metrics beside the classical baseline's (same test split)."""
    base = report.baseline
    names = [k for k in report.metrics if k in base["metrics"]]
    params = ", ".join(f"{k}={v}" for k, v in base.get("params", {}).items())
    chosen = _fmt(_nan_if_none(base.get("val_accuracy")))
    return [
        f"{h}# Classical baseline (same test split)\n",
        f"{base['classifier']} ({params}) on {base.get('features', 'MFCC statistics')}; chosen by "
        f"{base.get('selection', 'validation accuracy')} (accuracy {chosen}).\n",
        _md_table(
            ["metric", "model", "baseline"],
            [[k, report.metrics[k], _nan_if_none(base["metrics"][k])] for k in names],
        ),
        *_comparison_markdown(base, f"{report.level}s" if report.level else "samples"),
    ]


_WINNER = {"b": "the model", "a": "the baseline", "neither": "neither (the interval holds 0)"}


def _comparison_rows(base: dict[str, Any]) -> list[list[str]]:
    """``[metric, model - baseline, interval, better]`` per row of ``base["comparison"]``."""
    return [
        [
            row["metric"],
            f"{row['difference']:+.4f}",
            f"[{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]",
            _WINNER[row["better"]],
        ]
        for row in base.get("comparison") or []
    ]


def _comparison_lines(base: dict[str, Any]) -> list[str]:
    """One printed line per metric of ``base["comparison"]`` (model - baseline, paired)."""
    return [
        f"model - baseline {metric}: {diff} {interval}, better: {better}"
        for metric, diff, interval, better in _comparison_rows(base)
    ]


def _comparison_markdown(base: dict[str, Any], unit: str) -> list[str]:
    """The paired comparison as a table under a sentence saying what it is (``unit``: what the
    ``n`` compared are, e.g. ``"clips"``)."""
    rows = _comparison_rows(base)
    if not rows:
        return []
    first = base["comparison"][0]
    return [
        f"\nThe model against the baseline on the same {first['n']} test {unit}, paired "
        f"(bootstrap, {first['confidence']:.0%} interval of model - baseline; accuracy: higher "
        "is better, log loss: lower is better):\n",
        _md_table(["metric", "model - baseline", "interval", "better"], rows),
    ]
