"""The one evaluation module every model family and recipe uses.

``evaluate(y_true, y_score, task=...)`` turns what ``predict_step`` returns into a
:class:`Report` (metrics, per-class table, confusion matrix, ROC / PR curves);
``Report.save(dir)`` writes ``report.json``, ``report.md`` and PNG plots. Multi-output models use
:func:`evaluate_many` / :class:`MultiReport`. NumPy, scikit-learn, pandas and matplotlib only:
importing this package never imports torch or Lightning (tensors are accepted by duck typing).
A new metric, scalar or a per-class column (``per_class=True``), is one function decorated with
:func:`register_metric` (docs/extending.md).
"""

from __future__ import annotations

from audioconv.evaluation.metrics import Scored, list_metrics, register_metric
from audioconv.evaluation.report import (
    SCHEMA_VERSION,
    MultiReport,
    Report,
    evaluate,
    evaluate_many,
    report_differences,
    reports_equal,
)

__all__ = [
    "SCHEMA_VERSION",
    "MultiReport",
    "Report",
    "Scored",
    "evaluate",
    "evaluate_many",
    "list_metrics",
    "register_metric",
    "report_differences",
    "reports_equal",
]
