"""The ``audioconv`` command line: ``models | recipes | fit | test | compare | predict | summary |
features | export | stream``.

Only argparse is imported up front, so ``audioconv --help`` answers at once; each command imports
torch / Lightning when it runs.

- ``audioconv fit RECIPE [recipe options]`` runs ``recipes/<RECIPE>.py`` (the same options as
  ``python recipes/<RECIPE>.py``; ``audioconv fit RECIPE --help`` lists them). The recipes live
  beside the package in a source checkout / editable install (``pip install -e .``); the folders
  of ``AUDIOCONV_RECIPES`` (``os.pathsep``-separated) are searched first. ``audioconv fit --config
  RUN/config.yaml --output-dir NEW`` re-runs a run from its folder (the recipe it names).
- ``audioconv test --checkpoint RUN/checkpoints/best.ckpt`` re-evaluates a checkpoint on the test
  split of the recipe run that wrote it (options from ``RUN/config.yaml``).
- ``audioconv compare RUN_A RUN_B [RUN_A RUN_B ...] [--split val]`` scores both runs'
  ``best.ckpt`` on the same clips of one split and prints accuracy and log loss with a paired
  bootstrap interval on each difference (:mod:`audioconv.evaluation.compare`): is B really better
  than A? Several pairs (one per seed) pool their clips.
- ``audioconv predict --checkpoint MODEL INPUT... [--output predictions.csv]`` prints
  ``path  label  probability`` for audio (wav / flac / ogg ...), image (png / jpg ...) and sensor
  CSV files, folders of them or CSV / TSV manifests, found as training finds them
  (:func:`gather_inputs`), with a ``.ckpt``, ``.onnx`` or TorchScript model; every input goes
  through the model's input contract (:mod:`audioconv.contract`).
- ``audioconv summary MODEL --dims 2 --in-channels 1 --num-classes 10 --input-shape 1 32 32``.
- ``audioconv features FILE --kind logmel [--plot out.png] [--out out.npy]``.
- ``audioconv export`` / ``audioconv stream``: see :mod:`audioconv.export` and
  :mod:`audioconv.streaming`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from audioconv.constants import KIND_EXTENSIONS, TORCHSCRIPT_SUFFIXES, input_kind_of

__all__ = ["build_parser", "main"]

#: the recipe positional of ``fit --config RUN/config.yaml``: the run config names the recipe
FROM_CONFIG = "<from --config>"


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def cmd_fit(args: argparse.Namespace) -> int:
    from audioconv.runner import load_recipe, parse_recipe, recipe_options_from_run, run

    if args.recipe == FROM_CONFIG:  # audioconv fit --config RUN/config.yaml [overrides]
        value = args.options[0].partition("=")[2]
        config = value or (args.options[1] if len(args.options) > 1 else "")
        name, _ = recipe_options_from_run(config)  # a registered name, never a path
        recipe_class = load_recipe(name)
        prog = "audioconv fit"
    else:
        recipe_class = load_recipe(args.recipe, allow_path=True)  # the user typed it
        prog = f"audioconv fit {args.recipe}"
    recipe = parse_recipe(recipe_class, args.options, prog=prog)
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    try:
        run(recipe)
    except SIGTERMException:  # a SystemExit without a code: the caller would see success
        print("audioconv fit: interrupted (SIGTERM): resume with --resume", file=sys.stderr)
        return 128 + 15
    except OSError as error:
        raise _write_failure(error, recipe.output_dir, "continue the run with --resume") from None
    return 0


def _write_failure(error: OSError, folder: Path, then: str) -> Exception:
    """The one rule for a write that failed in ``folder`` (a full disk or quota, a read-only or
    forbidden folder): a one-line ``ConfigError`` naming the folder, the cause and what to do
    (free space / make it writable, then ``then``). Any other ``error`` (or one about a file
    outside ``folder``, e.g. an unreadable input) is returned as it is."""
    import errno

    from audioconv.errors import ConfigError

    full = (errno.ENOSPC, errno.EDQUOT)
    if error.errno not in (*full, errno.EROFS, errno.EACCES, errno.EPERM):
        return error
    name = error.filename
    if name is not None and not Path(name).resolve().is_relative_to(Path(folder).resolve()):
        return error
    fix = "free space there" if error.errno in full else "make it writable"
    return ConfigError(f"{folder}: cannot write there ({error.strerror}): {fix}, then {then}")


def cmd_test(args: argparse.Namespace) -> int:
    import dataclasses

    from audioconv._runfolder import enclosing_run, existing_artifacts, run_lock
    from audioconv.deploy import require_format
    from audioconv.errors import ConfigError, DatasetError
    from audioconv.runner import (
        check_recorded_options,
        evaluate_checkpoint,
        load_recipe,
        recipe_options_from_run,
    )

    checkpoint = Path(args.checkpoint)
    require_format(checkpoint, ["checkpoint"], what="audioconv test")
    run_dir = Path(args.run_dir) if args.run_dir else checkpoint.resolve().parent.parent
    name, options = recipe_options_from_run(run_dir)
    recipe_class = load_recipe(name)
    known = {f.name for f in dataclasses.fields(recipe_class)}
    options = {k: v for k, v in options.items() if k in known}
    options = check_recorded_options(recipe_class, options, run_dir / "config.yaml")
    out = Path(args.output_dir or run_dir / "test")
    options["output_dir"], options["smoke"] = out, args.smoke
    trained = [name for name in existing_artifacts(out) if name != "report.json"]
    if trained:  # e.g. --output-dir RUN, or a sent folder's test/ linked to another run
        raise ConfigError(
            f"{out} ({out.resolve()}) holds a training run ({', '.join(trained)}): audioconv test "
            "would overwrite its report and predictions; pass --output-dir a new folder"
        )
    inside = enclosing_run(out)  # RUN/test is the run's own; RUN/checkpoints is not
    if inside is not None and (
        inside != run_dir.resolve() or out.resolve().is_relative_to(inside / "checkpoints")
    ):
        raise ConfigError(
            f"{out} is inside the run folder {inside}: the test's report would mix with that "
            "run's files; pass --output-dir a folder outside it"
        )
    recorded = run_dir / "splits.csv"
    try:
        with run_lock(out):  # nothing is written into out before its checks and its lock
            if "split_file" in known and recorded.is_file():  # the run's own test split
                options["split_file"] = _run_split(recorded, options, args.data_dir)
            if args.data_dir is not None:
                options["data_dir"] = args.data_dir
            recipe = recipe_class(**options)
            report = evaluate_checkpoint(recipe, checkpoint, out, recorded_splits=recorded)
    except DatasetError as error:
        if "split_file" not in options:
            raise
        raise DatasetError(
            f"{error}\n(audioconv test scores the run's own test split, recorded in {recorded}: "
            "restore the data folder the run read, or pass --data-dir where it is now)"
        ) from None
    except OSError as error:
        raise _write_failure(
            error, out, "run the test again, or pass --output-dir a folder you can write"
        ) from None
    print(f"== {name}: {checkpoint} -> {out}\n{report.summary()}")
    return 0


def _run_split(recorded: Path, options: dict, data_dir: str | None) -> Path:
    """The split file that pins a test to the run's own split: ``recorded`` (the run's
    splits.csv) itself, or, when ``data_dir`` moves the data, a copy beside the test's report
    with the paths moved there (:func:`rerooted`)."""
    import pandas as pd

    from audioconv._atomic import atomic_write_text

    old = options.get("data_dir")
    if data_dir is None or old is None or Path(data_dir).resolve() == Path(old).resolve():
        return recorded
    table = pd.read_csv(recorded, dtype=str, keep_default_na=False)
    table["path"] = rerooted(table["path"], old, data_dir)
    out = Path(options["output_dir"]) / "splits.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, table.to_csv(index=False))
    return out


def rerooted(paths, old_root: str | Path, new_root: str | Path) -> list[str]:
    """``paths`` below the data folder ``old_root`` moved to the same place below ``new_root``
    (others unchanged): a run's recorded clips, read where the data is now."""
    old, new = Path(old_root).resolve(), Path(new_root).resolve()
    return [
        str(new / Path(p).relative_to(old)) if Path(p).is_relative_to(old) else p for p in paths
    ]


def split_rows(run_dir: Path, split: str, data_dir: str | None = None):
    """The ``path`` / ``label`` rows of the run's ``splits.csv`` in ``split``, sorted by path;
    with ``data_dir``, the paths moved from the run's recorded data folder to it."""
    import pandas as pd

    from audioconv.errors import ConfigError
    from audioconv.runner import recipe_options_from_run

    table = run_dir / "splits.csv"
    if not table.is_file():
        raise ConfigError(
            f"{run_dir}: no splits.csv; compare needs run folders of recipes that write the split "
            "they trained on (the audio recipes)"
        )
    table_rows = pd.read_csv(table, dtype=str, keep_default_na=False)  # a class "NA" stays one
    if "path" not in table_rows or "offset" in table_rows:
        what = "series, sensor windows or bundled images"
        if "path" in table_rows:
            what = "some are segments of longer files (offset / duration), e.g. cut silence"
        raise ConfigError(
            f"{table}: its samples are not whole files ({what}), so compare cannot predict them "
            "again; it compares such runs on --split test, from the predictions.csv each run wrote"
        )
    if "label" not in table_rows:
        raise ConfigError(f"{table}: no 'label' column; compare scores single-label runs")
    if data_dir is not None:
        recorded = recipe_options_from_run(run_dir)[1].get("data_dir")
        if recorded is None:
            raise ConfigError(f"{run_dir}/config.yaml records no data_dir to move the clips from")
        table_rows["path"] = rerooted(table_rows["path"], recorded, data_dir)
    rows = table_rows[table_rows["split"] == split].sort_values("path")
    if rows.empty:
        found = ", ".join(sorted(table_rows["split"].unique()))
        raise ConfigError(f"{table}: no clip in split {split!r} (it has: {found})")
    missing = [p for p in rows["path"] if not Path(p).is_file()]
    if missing:
        raise ConfigError(
            f"{table}: {len(missing)} clip(s) of split {split!r} not found, e.g. {missing[0]}; "
            "compare reads the clips where the run read them: if the data folder moved, pass "
            "--data-dir where it is now"
        )
    return rows[["path", "label"]].reset_index(drop=True)


def split_probabilities(run_dir: Path, rows, *, progress: bool = True):
    """``(labels, probabilities, predictor)``: the run's ``best.ckpt`` on ``rows``
    (:func:`split_rows`), through the inference path every runtime shares."""
    import numpy as np

    from audioconv.deploy import load_predictor
    from audioconv.errors import ConfigError

    checkpoint = run_dir / "checkpoints" / "best.ckpt"
    if not checkpoint.is_file():
        raise ConfigError(f"{checkpoint}: missing; the run did not finish training")
    predictor = load_predictor(checkpoint)
    if predictor.task not in ("binary", "multiclass"):
        raise ConfigError(
            f"{checkpoint}: a {predictor.task} model; compare scores single-label (binary / "
            "multiclass) runs"
        )
    unknown = sorted(set(rows["label"]) - set(predictor.class_names or []))
    if unknown:
        raise ConfigError(
            f"{run_dir / 'splits.csv'}: labels {unknown} are not classes of {checkpoint}"
        )
    inputs = [read_input(Path(path), predictor.contract) for path in rows["path"]]
    predictions = predictor.predict_batch(inputs, progress=progress)
    probabilities = np.stack([np.asarray(p.probabilities, dtype=float) for p in predictions])
    labels = np.array([predictor.class_names.index(label) for label in rows["label"]])
    return labels, probabilities, predictor


def has_sample_files(run_dir: Path) -> bool:
    """Whether the run's ``splits.csv`` names each sample's file (``path``), each a whole file
    (no ``offset``: a segment cannot be predicted again from its path)."""
    import pandas as pd

    table = run_dir / "splits.csv"
    if not table.is_file():
        return False
    columns = pd.read_csv(table, nrows=0).columns
    return "path" in columns and "offset" not in columns


def reported_test_probabilities(run_dir: Path):
    """``(ids, labels, probabilities, model)`` of a run's test split as its own
    ``predictions.csv`` and ``report.json`` give them, for runs whose samples are not files:
    ``ids`` the identifying columns, ``model`` the ``class_names`` / ``task`` / ``threshold``
    (binary ``probabilities``: ``(n,)`` P(positive))."""
    import json
    from types import SimpleNamespace

    import numpy as np
    import pandas as pd

    from audioconv.errors import ConfigError

    files = [run_dir / "predictions.csv", run_dir / "report.json"]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ConfigError(f"{run_dir}: no {' or '.join(missing)}; the run did not finish testing")
    report = json.loads(files[1].read_text())
    task, names = report.get("task"), list(report.get("class_names") or [])
    if task not in ("binary", "multiclass") or "heads" in report:
        raise ConfigError(
            f"{files[1]}: a {task} run; compare scores single-label (binary / multiclass) runs"
        )
    frame = pd.read_csv(files[0], dtype=str, keep_default_na=False)  # a class "NA" stays one
    columns = [f"p_{name}" for name in names]
    if "true" not in frame or any(c not in frame for c in columns):
        raise ConfigError(f"{files[0]}: needs the columns true and {', '.join(columns)}")
    unknown = sorted(set(frame["true"]) - set(names))
    if unknown:
        raise ConfigError(f"{files[0]}: labels {unknown} are not classes of {files[1]}")
    ids = frame.drop(columns=["true", "predicted", *columns], errors="ignore")
    labels = np.array([names.index(label) for label in frame["true"]])
    probabilities = frame[columns].to_numpy(dtype=float)
    if task == "binary":
        probabilities = probabilities[:, 1]
    model = SimpleNamespace(class_names=names, task=task, threshold=report.get("threshold", 0.5))
    return ids, labels, probabilities, model


def cmd_compare(args: argparse.Namespace) -> int:
    import json

    import numpy as np

    from audioconv._atomic import atomic_write_text
    from audioconv._runfolder import refuse_run_file
    from audioconv.errors import ConfigError
    from audioconv.evaluation.compare import paired_comparison

    if args.output is not None:
        refuse_run_file(args.output, "--output")
    runs = [Path(run) for run in args.runs]
    if len(runs) < 2 or len(runs) % 2:
        raise ConfigError(
            f"compare takes pairs of run folders (RUN_A RUN_B [RUN_A RUN_B ...]), got {len(runs)}"
        )
    pairs = list(zip(runs[0::2], runs[1::2]))
    sources = []
    for run_a, run_b in pairs:  # every pair's clips checked before any clip is predicted
        if args.split == "test" and not all(map(has_sample_files, (run_a, run_b))):
            a, b = (reported_test_probabilities(run) for run in (run_a, run_b))
            if not (a[0].equals(b[0]) and np.array_equal(a[1], b[1])):
                raise ConfigError(
                    f"{run_a} and {run_b} hold different samples in their test split "
                    "(different data, or a run limited to a few test batches)"
                )
            sources.append((a[1:], b[1:]))  # (labels, probabilities, model) of A and of B
            continue
        rows, rows_b = (split_rows(run, args.split, args.data_dir) for run in (run_a, run_b))
        if not rows.equals(rows_b):
            raise ConfigError(
                f"{run_a} and {run_b} hold different clips in split {args.split!r} (different "
                "seeds or data): train B on A's split to compare them (recipes with --split-file: "
                f"--split-file {run_a / 'splits.csv'}; others: the same data and --seed)"
            )
        sources.append(rows)
    scored, reference = [], None
    for (run_a, run_b), source in zip(pairs, sources):
        (y, proba_a, model_a), (_, proba_b, model_b) = (
            source if isinstance(source, tuple)
            else (split_probabilities(run, source, progress=not args.quiet)
                  for run in (run_a, run_b))
        )  # fmt: skip
        for run, model in ((run_a, model_a), (run_b, model_b)):
            reference = reference or (run, model)
            if (model.class_names, model.task) != (reference[1].class_names, reference[1].task):
                raise ConfigError(f"{reference[0]} and {run} predict different classes or tasks")
        scored.append((y, proba_a, proba_b, (model_a.threshold, model_b.threshold)))
    task = reference[1].task
    options = {"task": task, "confidence": args.confidence, "n_resamples": args.resamples,
               "seed": args.seed}  # fmt: skip
    thresholds = {t for *_, t in scored}
    if task == "binary" and len(thresholds) > 1:
        raise ConfigError(
            "binary runs with different decision thresholds cannot be pooled: compare the pairs "
            "one at a time"
        )
    per_pair = [paired_comparison(y, a, b, thresholds=t, **options) for y, a, b, t in scored]
    if len(pairs) == 1:
        rows = per_pair[0]  # one pair: nothing to pool (and no second bootstrap)
    else:
        y, proba_a, proba_b = (np.concatenate([part[i] for part in scored]) for i in range(3))
        rows = paired_comparison(y, proba_a, proba_b, thresholds=scored[0][3], **options)
    n = rows[0].n
    level = f"{args.confidence:.0%}"
    if len(pairs) > 1:
        for (run_a, run_b), pair_rows in zip(pairs, per_pair):
            diffs = ", ".join(f"{r.metric} {r.difference:+.4f}" for r in pair_rows)
            print(f"pair A = {run_a}, B = {run_b}: {pair_rows[0].n} clips, B - A: {diffs}")
        print(f"split {args.split!r}, {len(pairs)} pairs pooled: {n} clips")
    else:
        print(f"split {args.split!r}: {n} clips; A = {runs[0]}, B = {runs[1]}")
    print(f"{'metric':10s} {'A':>8s} {'B':>8s} {'B - A':>8s}  {level + ' interval':>20s}  better")
    for r in rows:
        interval = f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}]"
        values = f"{r.a:8.4f} {r.b:8.4f} {r.difference:+8.4f}"
        print(f"{r.metric:10s} {values}  {interval:>20s}  {r.better}")
    print(
        f"(paired bootstrap, BCa, {args.resamples} resamples; 'better' only when the interval "
        "excludes 0)"
    )
    if args.output is not None:
        record = {
            "split": args.split,
            "pairs": [
                {"run_a": str(a), "run_b": str(b), "metrics": [r.to_dict() for r in pair_rows]}
                for (a, b), pair_rows in zip(pairs, per_pair)
            ],
            "metrics": [r.to_dict() for r in rows],
        }
        if len(pairs) == 1:
            record |= {"run_a": str(runs[0]), "run_b": str(runs[1])}
        atomic_write_text(args.output, json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def gather_inputs(
    items: list[str], kind: str, *, data_dir: str | None = None
) -> tuple[list[Path], dict[str, str]]:
    """The files to classify, found as training finds them: each item is a file, a folder
    (walked as training walks class folders: :func:`audioconv._walk.walk_files` with the model's
    input ``kind``) or, unless the model takes sensor CSVs, a CSV / TSV manifest read as training
    reads it (:func:`audioconv.data.manifest.read_clip_list`; relative paths from ``data_dir``,
    default the manifest's folder).

    Returns ``(files, skipped)``: the files that exist, in order; ``skipped`` maps each missing
    file to its reason and each file a folder walk did not read to ``not read: ...``.

    Raises:
        ConfigError: a folder without such files; DatasetError: a manifest training would refuse.
    """
    from audioconv._walk import walk_files
    from audioconv.data.manifest import read_clip_list
    from audioconv.errors import ConfigError

    files: list[Path] = []
    skipped: dict[str, str] = {}
    for item in map(Path, items):
        if item.is_dir():
            walk = walk_files(item, KIND_EXTENSIONS[kind], kind=kind)
            if not walk.files:
                raise ConfigError(
                    f"{item}: no {kind} files ({', '.join(KIND_EXTENSIONS[kind])}) in this folder "
                    f"or below{walk.others()}"
                )
            files += walk.files
            skipped |= walk.not_read
        elif input_kind_of(item) == "sensor" and kind != "sensor" and item.is_file():
            root = Path(data_dir) if data_dir is not None else item.parent
            listed = list(map(Path, read_clip_list(item, root=root)["path"]))
            where = f"relative paths of {item} are read from {root.absolute()}: pass --data-dir"
            skipped |= {str(p): f"no such file ({where} the folder they are relative to)"
                        for p in listed if not p.is_file()}  # fmt: skip
            files += listed
        else:
            files.append(item)
    skipped = {str(p): "no such file" for p in files if not p.is_file()} | skipped
    return [p for p in files if p.is_file()], skipped


def _is_series_file(path: Path) -> bool:
    """A UCR / UEA ``.ts`` file, or a UCR 2018 ``.tsv`` file: its first row is all numbers (the
    class, then the values), where a sensor log's first row names its columns."""
    suffix = path.suffix.lower()
    if suffix == ".ts":
        return True
    if suffix != ".tsv" or not path.is_file():
        return False
    with path.open(encoding="utf-8", errors="replace") as handle:
        fields = handle.readline().strip().split("\t")
    try:
        [float(field) for field in fields]
    except ValueError:
        return False
    return len(fields) > 1


def _is_blank(path: Path) -> bool:
    with path.open("rb") as handle:
        return not handle.read(4096).strip()


def read_inputs(path: Path, contract, *, channels: list[str] | None = None) -> list[tuple]:
    """``(name, input)`` pairs of one file (:func:`read_input`): one pair named by the path, or,
    for a UCR / UEA ``.ts`` file or a UCR 2018 ``.tsv`` file, one pair per series ``(channels, its
    own length)`` named ``<path>#<index>`` (from 0, in file order); the contract fits each to the
    model.

    Raises:
        ConfigError: as :func:`read_input`; a series with another number of dimensions than the
            model's channels, or ``channels`` given for such a file.
    """
    from audioconv.errors import ConfigError

    if contract.input_kind != "sensor":
        return [(str(path), read_input(path, contract, channels=channels))]
    if path.suffix.lower() == ".tsv" and contract.channel_names is None and _is_blank(path):
        raise ConfigError(
            f"{path}: the file is empty; a UCR .tsv file holds one series per row (the class, "
            "then the values, tab-separated)"
        )  # a series model: not a sensor log without its header
    if not _is_series_file(path):
        return [(str(path), read_input(path, contract, channels=channels))]
    if channels:
        raise ConfigError(
            f"{path}: --channels selects columns of a table; a {path.suffix} file's dimensions "
            "are all used, in order"
        )
    from audioconv.data.timeseries import read_series

    series, _, _ = read_series(path, labels=False)  # a file of no series is an error
    pairs = []
    for index, x in enumerate(series):
        if x.shape[0] != contract.channels:
            raise ConfigError(
                f"{path}#{index}: a series of {x.shape[0]} dimension(s), but the model takes "
                f"{contract.channels}: pass a file of the problem it was trained on"
            )
        pairs.append((f"{path}#{index}", x.astype("float32")))
    return pairs


def read_input(path: Path, contract, *, channels: list[str] | None = None):
    """One file as the runtime takes it: audio stays a path (decoded and resampled by the
    contract), an image becomes ``(C, H, W)`` in [0, 1] resized to the model's size, a sensor CSV
    ``(channels, time)`` (windows / padding by the contract). An audio model takes a file of any
    suffix but an image / sensor one and decodes it, as training decodes a manifest's clips
    (``noext``, ``.opus``): the decoder, not the name, says whether it is audio.

    Raises:
        ConfigError: the file's kind is not the model's, or its columns do not fit.
    """
    from audioconv.errors import ConfigError

    expected = contract.input_kind
    kind = input_kind_of(path) or ("audio" if expected == "audio" else None)
    if kind is None:
        raise ConfigError(
            f"{path}: unknown file type {path.suffix!r}; the model takes {expected} input "
            f"({', '.join(KIND_EXTENSIONS[expected])})"
        )
    if kind != expected:
        raise ConfigError(
            f"{path}: this is {kind} input, but the model expects {expected} input "
            f"({', '.join(KIND_EXTENSIONS[expected])} files)"
        )
    if kind == "audio":
        return path
    if kind == "image":  # read and resized as training read its image folder
        from audioconv.decode import read_image

        image = read_image(path, channels=contract.channels)  # (C, H, W) in [0, 1]
        if tuple(image.shape[-2:]) != contract.image_size:
            import torch
            import torchvision.transforms.v2.functional as TF

            resized = TF.resize(torch.from_numpy(image), list(contract.image_size), antialias=True)
            image = resized.numpy()
        return image
    return read_sensor_table(path, contract, channels=channels)


def read_sensor_table(path: Path, contract, *, channels: list[str] | None = None):
    """A sensor log as the model takes it, ``(channels, time)`` float32: the columns ``channels``
    (default: the model's recorded ``channel_names``; else every numeric column), by name; when
    the table has the model's time column, its rows checked for time order and repeats as in
    training and its rate against the model's; one recording only (the model's stream column,
    when present, holds one id).

    Raises:
        ConfigError: a channel column missing, another rate, several recordings, another count
            of channels; SensorDataError: as :func:`~audioconv.windows.read_sensor_log`.
    """
    from audioconv.errors import ConfigError
    from audioconv.windows import read_sensor_log
    from audioconv.windows.sensor_log import log_columns, same_rate

    columns = log_columns(path)
    names = channels or contract.channel_names
    missing = [c for c in names or () if c not in columns]
    if missing:
        given = "--channels" if channels else "the model's channels"
        raise ConfigError(
            f"{path}: no column(s) {missing} of {given} {list(names)} (the file has {columns}): "
            "name the file's columns as in training, or pass --channels with the file's columns "
            f"for the model's {contract.channels} channels, in this order"
        )
    time_column, stream_column = (
        c if c in columns else None for c in (contract.time_column, contract.stream_column)
    )
    nan_policy = contract.nan if contract.nan in ("interpolate", "drop") else "raise"
    log = read_sensor_log(  # missing values read as training read them (--nan-policy)
        path, channels=names, time_column=time_column, stream_column=stream_column,
        nan_policy=nan_policy,
    )  # fmt: skip
    if log.data.shape[1] != contract.channels:
        raise ConfigError(
            f"{path}: {log.data.shape[1]} numeric columns {list(log.channels)}, but the model "
            f"takes {contract.channels} channels: pass --channels with the {contract.channels} "
            "channel columns"
        )
    if stream_column is not None and len(ids := dict.fromkeys(log.stream_ids)) > 1:
        shown = ", ".join(map(str, list(ids)[:5])) + (", ..." if len(ids) > 5 else "")
        raise ConfigError(
            f"{path}: {len(ids)} recordings in column {stream_column!r} ({shown}); predict gives "
            "one answer per file, so it classifies one recording per file: write each recording "
            "to its own file"
        )
    rate, model_rate = log.sample_rate(), contract.sample_rate
    if rate is not None and model_rate is not None and not same_rate(rate, model_rate):
        raise ConfigError(
            f"{path}: its time column {time_column!r} steps at {rate:g} Hz (read as seconds), but "
            f"the model takes {model_rate:g} Hz: resample the log to {model_rate:g} Hz"
        )
    return log.data.T.astype("float32")  # (time, channels) -> (channels, time)


def _records(
    names: list[str], predictions: list, predictor, top_k: int, starts: list[list[int]]
) -> list[dict]:
    """One plain record per input: path (the input's name), label, probability, the top-k
    classes, ``p_<class>`` per class as a run's predictions.csv names them (and, with
    ``--per-window``, each window's output and first sample ``starts``, in seconds too when the
    model records its rate)."""
    from audioconv.contract import output_columns

    rate = predictor.contract.sample_rate
    task, classes = predictor.task, predictor.class_names
    records = []
    for input_name, prediction, first in zip(names, predictions, starts):
        record = {"path": input_name, "label": prediction.label, "probability": prediction.score}
        for rank, (name, p) in enumerate(predictor.top_k(prediction, top_k), start=1):
            record[f"top{rank}"], record[f"top{rank}_probability"] = name, p
        record |= output_columns(prediction.probabilities, task=task, class_names=classes)
        if prediction.windows is not None:
            record["windows"] = prediction.windows.tolist()
            record["window_start_sample"] = first
            if rate:
                record["window_start_s"] = [round(s / rate, 6) for s in first]
        records.append(record)
    return records


def cmd_predict(args: argparse.Namespace) -> int:
    from audioconv._atomic import RECORD_SUFFIXES, write_records
    from audioconv._runfolder import refuse_run_file
    from audioconv._walk import NOT_READ
    from audioconv.deploy import load_predictor
    from audioconv.errors import ConfigError

    if args.output is not None and Path(args.output).suffix not in RECORD_SUFFIXES:
        raise ConfigError(f"--output {args.output}: use a .csv or .json file")
    if args.output is not None:
        refuse_run_file(args.output, "--output")
    if args.top_k < 1:
        raise ConfigError(f"--top-k {args.top_k}: must be >= 1")
    predictor = load_predictor(args.checkpoint, threshold=args.threshold)
    # input -> why it was not classified: the missing files and those a folder walk did not
    # read by their suffix now, the unreadable ones as read
    paths, skipped = gather_inputs(args.inputs, predictor.input_kind, data_dir=args.data_dir)
    missing = {name: why for name, why in skipped.items() if not why.startswith(NOT_READ)}
    if missing and args.on_error == "raise":
        raise FileNotFoundError(f"{len(missing)} input(s) not found:\n{_listing(missing)}")
    channels = args.channels.split(",") if args.channels else None
    names: list[str] = []  # the inputs classified, in order
    starts: list[list[int]] = []  # their windows' first samples

    def prepared():
        items = paths
        if not args.quiet and len(paths) > 1:
            from tqdm.auto import tqdm

            items = tqdm(paths, desc="predict", unit="file")
        for path in items:
            for name, x in _guarded(skipped, args.on_error, str(path), read_inputs, path,
                                    predictor.contract, channels=channels) or ():  # fmt: skip
                cut = _guarded(skipped, args.on_error, name, predictor.prepare, x, name=name,
                               with_starts=True)  # fmt: skip
                if cut is not None:
                    names.append(name)
                    starts.append(cut[1])
                    yield cut[0]

    predictions = predictor.predict_prepared(
        prepared(), per_window=args.per_window, batch_size=args.batch_size, names=names
    )
    if not predictions:
        raise ConfigError(f"no input could be read ({len(skipped)} tried):\n{_listing(skipped)}")
    records = _records(names, predictions, predictor, args.top_k, starts)
    width = max(len(r["path"]) for r in records)
    for record in records:
        print(f"{record['path']:<{width}}  {record['label'] or '-'}  {record['probability']:.4f}")
    if args.output is not None:
        write_records(args.output, records)
        print(f"wrote {args.output}", file=sys.stderr)
        _write_skipped(Path(args.output), skipped)
    not_read = {name: why for name, why in skipped.items() if why.startswith(NOT_READ)}
    if not_read:  # listed, but not a failure: training does not read them either
        print(f"{len(not_read)} file(s) of the folders not read:\n{_listing(not_read)}",
              file=sys.stderr)  # fmt: skip
    bad = {name: why for name, why in skipped.items() if name not in not_read}
    if not bad:
        return 0
    total = len(bad) + len(records)
    print(f"skipped {len(bad)} of {total} inputs:\n{_listing(bad)}", file=sys.stderr)
    return 1


def _guarded(skipped: dict[str, str], on_error: str, input_name: str, function, /, *args, **kwargs):
    """``function(*args, **kwargs)``; with ``on_error="skip"`` a bad input's error (an
    ``AudioConvError``: unreadable, empty, NaN, wrong columns...) goes to ``skipped[input_name]``
    and ``None`` is returned."""
    from audioconv.errors import AudioConvError, CheckpointError

    try:
        return function(*args, **kwargs)
    except AudioConvError as error:
        if on_error == "raise" or isinstance(error, CheckpointError):
            raise
        skipped[input_name] = str(error)
        return None


def _listing(skipped: dict[str, str]) -> str:
    return "\n".join(f"  {reason}" if reason.startswith(name) else f"  {name}: {reason}"
                     for name, reason in skipped.items())  # fmt: skip


def _write_skipped(output: Path, skipped: dict[str, str]) -> None:
    """``<output stem>.skipped.csv`` / ``.skipped.json`` (as ``output``) beside it: ``path``,
    ``reason`` per input, written as the predictions are; with nothing skipped, one left by an
    earlier prediction into ``output`` is removed (it would describe inputs this one read)."""
    from audioconv._atomic import write_records

    path = output.with_name(f"{output.stem}.skipped{output.suffix}")
    if not skipped:
        path.unlink(missing_ok=True)
        return
    write_records(path, [{"path": name, "reason": why} for name, why in skipped.items()])
    print(f"wrote {path}", file=sys.stderr)


def cmd_summary(args: argparse.Namespace) -> int:
    from audioconv.errors import ConfigError
    from audioconv.models import create, summary

    model = create(
        args.model, dims=args.dims, in_channels=args.in_channels, num_classes=args.num_classes
    )
    shape = tuple(args.input_shape)
    if shape and shape[0] != args.in_channels:
        raise ConfigError(
            f"--input-shape {' '.join(map(str, shape))} has {shape[0]} channel(s) but the model "
            f"was built with --in-channels {args.in_channels}: pass --in-channels {shape[0]}"
        )
    print(summary(model, shape))
    return 0


def cmd_features(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from audioconv._atomic import atomic_path
    from audioconv.features import MFCC, LogMel, PowerToDb, Spectrogram
    from audioconv.io import load_audio

    wave, rate = load_audio(args.file, sample_rate=args.sample_rate, mono=not args.keep_channels)
    options = {"n_fft": args.n_fft, "hop_length": args.hop_length}
    if args.kind == "logmel":
        module = LogMel(sample_rate=rate, n_mels=args.n_mels, **options)
    elif args.kind == "mfcc":
        module = MFCC(sample_rate=rate, n_mels=args.n_mels, n_mfcc=args.n_mfcc, **options)
    else:
        module = Spectrogram(**options)
    with torch.inference_mode():
        features = module(wave)  # (channels, time) -> (channels, freq, frames)
    if args.kind == "spectrogram":
        features = PowerToDb()(features)  # the front end's dB step
    print(f"{args.file}: {args.kind} {tuple(features.shape)} (channels, freq, frames) at {rate} Hz")
    if args.out:
        with atomic_path(args.out) as tmp, open(tmp, "wb") as handle:
            np.save(handle, features.numpy())
        print(f"wrote {args.out}")
    if args.plot:
        _plot_features(features[0], args, rate, module.hop_length)
        print(f"wrote {args.plot}")
    return 0


def _plot_features(features, args: argparse.Namespace, rate: int, hop_length: int) -> None:
    """Save a ``(freq, frames)`` feature map as a PNG (``args.plot``); a pyplot-free figure,
    so no matplotlib backend is chosen or changed."""
    from matplotlib.figure import Figure

    from audioconv._atomic import atomic_path
    from audioconv.plots.signal import spectrogram

    title = f"{Path(args.file).name}: {args.kind}"
    if args.kind == "mfcc":
        figure = Figure(figsize=(8, 4))
        ax = figure.subplots()
        frames = features.shape[-1]
        image = ax.imshow(
            features.numpy(), origin="lower", aspect="auto", cmap="magma",
            extent=(0, frames * hop_length / rate, 0, features.shape[0]),
        )  # fmt: skip
        ax.set(xlabel="time (s)", ylabel="coefficient", title=title)
        figure.colorbar(image, ax=ax)
    else:
        y_axis = "mel" if args.kind == "logmel" else "hz"
        figure = spectrogram(features, rate, hop_length, y_axis=y_axis, title=title)
    with atomic_path(args.plot) as tmp:
        figure.savefig(tmp, dpi=100, bbox_inches="tight")


def cmd_export(args: argparse.Namespace) -> int:
    from audioconv.deploy import model_format
    from audioconv.errors import ConfigError
    from audioconv.export import export_checkpoint

    output = Path(args.output)
    suffix = output.suffix.lower()
    fmt = args.format or ("torchscript" if suffix in TORCHSCRIPT_SUFFIXES else "onnx")
    suffixes = TORCHSCRIPT_SUFFIXES if fmt == "torchscript" else (".onnx",)
    if suffix not in suffixes:  # the name says what the file is, and how it may be loaded
        raise ConfigError(
            f"--output {output}: name a{'' if fmt == 'torchscript' else 'n'} {fmt} file "
            f"{' / '.join(suffixes)}"
        )
    if output.exists() and (
        output.resolve() == Path(args.checkpoint).resolve() or model_format(output) == "checkpoint"
    ):
        raise ConfigError(
            f"--output {output}: a training checkpoint is there; exporting over it would lose it: "
            "write the export to another file"
        )
    path = export_checkpoint(
        args.checkpoint,
        format=fmt,
        output=args.output,
        sample_rate=args.sample_rate,
        input_shape=tuple(args.input_shape) if args.input_shape else None,
        dynamic_time=args.dynamic_time,
    )
    print(f"wrote {path}")
    return 0


def cmd_stream(args: argparse.Namespace) -> int:
    from audioconv.streaming import stream_main

    source = sys.stdin.buffer if args.source == "-" else args.source
    stream_main(
        source,
        args.checkpoint,
        window_s=args.window_s,
        hop_s=args.hop_s,
        smoothing=args.smoothing,
        smoothing_k=args.smoothing_k,
        sample_rate=args.sample_rate,
        channels=args.channels,
        pcm_format=args.pcm_format,
        chunk_s=args.chunk_s,
        threshold=args.threshold,
        output=args.output,
        plot=args.plot,
    )
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from audioconv.models import list_models
    from audioconv.models.registry import registered_model

    for name in list_models(args.dims):
        dims = " and ".join(f"{d}D" for d in registered_model(name).dims)
        print(f"{name:<24} {dims}")
    return 0


def recipe_summaries() -> dict[str, str]:
    """``{recipe name: first paragraph of its docstring}``, read with ``ast`` (nothing is
    imported, so listing is instant and never runs a recipe file)."""
    import ast

    from audioconv.runner import recipe_files

    out = {}
    for name, path in sorted(recipe_files().items()):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        out[name] = " ".join((ast.get_docstring(tree) or "").strip().split("\n\n")[0].split())
    return out


def cmd_recipes(args: argparse.Namespace) -> int:
    for name, line in recipe_summaries().items():
        print(f"{name:<22} {line}")
    print("\naudioconv fit RECIPE --help lists a recipe's options")
    return 0


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``audioconv`` argument parser (imports nothing heavy)."""
    parser = argparse.ArgumentParser(
        prog="audioconv",
        description="ConvNets that classify audio, sensor streams, time series and images.",
    )
    from audioconv import __version__

    parser.add_argument("--version", action="version", version=f"audioconv {__version__}")
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE before the command, so the models, front ends, layouts and metrics "
        "it registers are known (repeatable; also $AUDIOCONV_PLUGINS=mod1,mod2)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = commands.add_parser("models", help="list the registered models (1D / 2D)")
    models.add_argument("--dims", type=int, choices=(1, 2), help="only models of these dims")
    models.set_defaults(func=cmd_models)
    recipes = commands.add_parser("recipes", help="list the recipes audioconv fit runs")
    recipes.set_defaults(func=cmd_recipes)

    fit = commands.add_parser(
        "fit",
        help="train and test a recipe (audioconv fit RECIPE --help lists its options)",
        description="Run recipes/<RECIPE>.py: train, test the best checkpoint, write the report. "
        "Recipes are found in the folders of $AUDIOCONV_RECIPES (separated by os.pathsep), then "
        "beside the package (editable install / source checkout).",
    )
    fit.add_argument(
        "recipe",
        help="recipe name (e.g. spoken_digits) or path to a recipe .py; omitted with "
        "--config RUN/config.yaml (re-run that run; give a new --output-dir)",
    )
    fit.add_argument("options", nargs=argparse.REMAINDER, help="the recipe's options")
    fit.set_defaults(func=cmd_fit)

    test = commands.add_parser("test", help="evaluate a checkpoint on its recipe's test split")
    test.add_argument("--checkpoint", required=True, help="a .ckpt written by a recipe run")
    test.add_argument("--run-dir", help="the run folder (default: the checkpoint's run)")
    test.add_argument("--data-dir", help="dataset folder (default: the one recorded in the run)")
    test.add_argument("--output-dir", help="where the report goes (default: RUN/test)")
    test.add_argument("--smoke", action="store_true", help="a few batches only")
    test.set_defaults(func=cmd_test)

    compare = commands.add_parser(
        "compare",
        help="is run B better than run A? accuracy and log loss on the same clips (bootstrap)",
        description="Score the best.ckpt of two runs on the same clips of one split (from their "
        "splits.csv) and print accuracy and log loss with a paired bootstrap interval on each "
        "difference. Runs whose samples are not whole files (UCR series, sensor windows, bundled "
        "images, segments cut from longer files) are compared on --split test, from the "
        "predictions.csv each run wrote. "
        "Several pairs (RUN_A1 RUN_B1 RUN_A2 RUN_B2 ...: e.g. seeds 0, 1, 2 of "
        "two configurations) pool their clips into one comparison. Choose on --split val; "
        "report test once.",
    )
    compare.add_argument(
        "runs",
        nargs="+",
        metavar="RUN_A RUN_B",
        help="pairs of run folders: A (the reference) and B on the same split; several pairs "
        "(e.g. one per seed) are pooled",
    )
    compare.add_argument("--split", default="val", help="which clips of splits.csv (default: val)")
    compare.add_argument("--confidence", type=float, default=0.95, help="interval level")
    compare.add_argument("--resamples", type=int, default=9999, help="bootstrap resamples")
    compare.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    compare.add_argument("--output", help="also write the comparison as JSON")
    compare.add_argument("--quiet", action="store_true", help="no progress bar")
    compare.add_argument(
        "--data-dir", help="the data folder now, when it moved since the runs (default: the runs')"
    )
    compare.set_defaults(func=cmd_compare)

    predict = commands.add_parser(
        "predict",
        help="classify files, folders or a CSV manifest: path  label  probability",
        description="Classify with a training checkpoint (.ckpt), an exported .onnx or a "
        "TorchScript file. Inputs are files, folders (searched recursively, symlinked folders "
        "too; files of other suffixes are listed as not read) or CSV / TSV manifests with a "
        "'path' column, read as training reads them; each is prepared by the model's input "
        "contract (mix-down, resampling, padding, sliding windows averaged over a long clip).",
    )
    predict.add_argument(
        "--checkpoint", "--model", required=True, help="a .ckpt, .onnx or TorchScript file"
    )
    predict.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="file, folder or manifest (a UCR .ts / .tsv file: one prediction per series, "
        "<file>#<index>)",
    )  # fmt: skip
    predict.add_argument(
        "--data-dir",
        help="where a manifest's relative paths are read from, as fit's --data-dir (default: "
        "the manifest's folder)",
    )
    predict.add_argument(
        "--output",
        help="write a .csv / .json: path, label, probability (multilabel: the highest), the "
        "top-k classes and p_<class> per class, as a run's predictions.csv names them",
    )
    predict.add_argument(
        "--top-k", type=int, default=3, help="classes listed per input in the --output file"
    )
    predict.add_argument("--threshold", type=float, help="binary / multilabel decision threshold")
    predict.add_argument("--batch-size", type=int, default=32, help="model inputs per call")
    predict.add_argument(
        "--per-window",
        action="store_true",
        help="keep each window's output and where it starts (window_start_sample, and "
        "window_start_s when the model records its sample rate)",
    )
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    predict.add_argument(
        "--channels",
        help="comma-separated channel columns of CSV inputs (default: the columns the model "
        "was trained on, by name)",
    )
    predict.add_argument(
        "--on-error", choices=("skip", "raise"), default="skip",
        help="an input that cannot be read (missing, corrupt, empty, NaN samples, wrong "
        "columns): 'skip' classifies the others, lists it (and writes OUTPUT_STEM.skipped.csv "
        "/ .json) and exits with status 1; 'raise' stops at it (default: skip)",
    )  # fmt: skip
    predict.set_defaults(func=cmd_predict)

    summary = commands.add_parser("summary", help="print a model's layer table")
    summary.add_argument("model", help="a registered model name (e.g. resnet18)")
    summary.add_argument("--dims", type=int, default=2, choices=(1, 2))
    summary.add_argument("--in-channels", type=int, default=1)
    summary.add_argument("--num-classes", type=int, default=10)
    summary.add_argument(
        "--input-shape", type=int, nargs="+", required=True,
        help="one input without the batch axis, e.g. 1 64 101 or 3 1000",
    )  # fmt: skip
    summary.set_defaults(func=cmd_summary)

    features = commands.add_parser("features", help="compute (and plot) features of an audio file")
    features.add_argument("file")
    features.add_argument("--kind", choices=("logmel", "mfcc", "spectrogram"), default="logmel")
    features.add_argument("--sample-rate", type=int, help="resample to this rate first")
    features.add_argument("--n-fft", type=int, default=512)
    features.add_argument("--hop-length", type=int)
    features.add_argument("--n-mels", type=int, default=64)
    features.add_argument("--n-mfcc", type=int, default=20)
    features.add_argument("--keep-channels", action="store_true", help="do not mix to mono")
    features.add_argument("--plot", help="write a PNG of the first channel")
    features.add_argument("--out", help="write the (channels, freq, frames) array as .npy")
    features.set_defaults(func=cmd_features)

    export = commands.add_parser("export", help="export a checkpoint to ONNX or TorchScript")
    export.add_argument("--checkpoint", required=True, help="a .ckpt written by audioconv fit")
    export.add_argument(
        "--format", choices=("onnx", "torchscript"),
        help="default: from the --output suffix (.pt / .ts / .torchscript: torchscript), else onnx",
    )  # fmt: skip
    export.add_argument("--output", required=True, help="the exported file (e.g. model.onnx)")
    export.add_argument(
        "--sample-rate", type=float,
        help="the model's rate in Hz, for a checkpoint that records none (default: the "
        "checkpoint's; another rate is refused: it would not change the model's front end)",
    )  # fmt: skip
    export.add_argument(
        "--input-shape", type=int, nargs="+",
        help="one input without the batch axis, for a checkpoint that records none (default: the "
        "checkpoint's; another shape is refused: the model was trained on that one)",
    )  # fmt: skip
    export.add_argument(
        "--dynamic-time", action=argparse.BooleanOptionalAction, default=None,
        help="accept any input length (default: when the model allows it)",
    )  # fmt: skip
    export.set_defaults(func=cmd_export)

    stream = commands.add_parser("stream", help="classify a stream window by window")
    stream.add_argument(
        "--checkpoint", "--model", required=True, help="a .ckpt, .onnx or TorchScript file"
    )
    stream.add_argument(
        "source", help="an audio file, or - for raw PCM (--sample-rate, --channels); resampled"
    )
    stream.add_argument("--window-s", type=float, help="default: the model's training length")
    stream.add_argument("--hop-s", type=float, help="default: half a window")
    stream.add_argument("--threshold", type=float, help="binary / multilabel decision threshold")
    stream.add_argument(
        "--smoothing", choices=("mean", "majority"),
        help="smooth each label over the last --smoothing-k windows (default: none)",
    )  # fmt: skip
    stream.add_argument("--smoothing-k", type=int, default=5, help="windows smoothed (default 5)")
    stream.add_argument(
        "--sample-rate", type=float,
        help="raw PCM's rate in Hz; without it raw PCM is taken to be at the model's rate "
        "(a file's header gives its own)",
    )  # fmt: skip
    stream.add_argument(
        "--channels", type=int, help="raw PCM's interleaved channels (default: the model's)"
    )
    stream.add_argument(
        "--pcm-format", choices=("s16le", "f32le"), default="s16le",
        help="raw PCM samples: 16-bit or float32 little-endian (default s16le)",
    )  # fmt: skip
    stream.add_argument(
        "--chunk-s", type=float, default=0.1, help="seconds read per chunk (default 0.1)"
    )
    stream.add_argument(
        "--output",
        help="also write every window to a .csv / .json file: time_s, label, "
        "probability and p_<class> per class (value_<i> for regression)",
    )
    stream.add_argument(
        "--plot", help="draw each class's probability over time into a .png / .pdf / .svg file"
    )
    stream.set_defaults(func=cmd_stream)
    return parser


def _recipe_from_config(argv: list[str]) -> list[str]:
    """``fit --config FILE ...`` -> ``fit <FROM_CONFIG> --config FILE ...`` (after any
    ``--import MODULE``): the recipe is the one the run config names (argparse cannot start a
    REMAINDER with an option)."""
    i = 0
    while i < len(argv) and argv[i].partition("=")[0] == "--import":
        i += 1 if "=" in argv[i] else 2
    if (
        argv[i : i + 1] == ["fit"]
        and argv[i + 1 : i + 2]
        and argv[i + 1].partition("=")[0] == "--config"
    ):
        return [*argv[: i + 1], FROM_CONFIG, *argv[i + 1 :]]
    return list(argv)


def import_plugins(modules: list[str]) -> None:
    """Import the modules the user named (``--import``, then ``$AUDIOCONV_PLUGINS``), whose
    registrations the command then sees; never a name read from a file."""
    import importlib
    import os

    from audioconv.errors import ConfigError

    named = [*modules, *os.environ.get("AUDIOCONV_PLUGINS", "").split(",")]
    for module in filter(None, (m.strip() for m in named)):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module and not module.startswith(f"{error.name}."):
                raise  # the plugin itself imports a missing module: its traceback says which
            raise ConfigError(
                f"cannot import {module!r} (--import / AUDIOCONV_PLUGINS): no such module; run "
                "from its folder with PYTHONPATH=. or install its package"
            ) from None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``audioconv`` console script."""
    parser = build_parser()
    args = parser.parse_args(_recipe_from_config(sys.argv[1:] if argv is None else argv))
    if args.command == "fit" and argv is None:
        from audioconv._allocator import ensure_tuned_malloc, is_command_line_entry

        if is_command_line_entry(main):  # the console script, not a call from Python
            print(ensure_tuned_malloc(), file=sys.stderr)
    from audioconv.errors import AudioConvError

    try:
        import_plugins(args.imports)
        return args.func(args)
    except (AudioConvError, FileNotFoundError) as err:
        parser.exit(2, f"audioconv {args.command}: error: {err}\n")


if __name__ == "__main__":
    sys.exit(main())
