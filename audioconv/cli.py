"""The ``audioconv`` command line: ``fit | test | predict | summary | features | export | stream``.

Only argparse is imported up front, so ``audioconv --help`` answers at once; each command imports
torch / Lightning when it runs.

- ``audioconv fit RECIPE [recipe options]`` runs ``recipes/<RECIPE>.py`` (the same options as
  ``python recipes/<RECIPE>.py``; ``audioconv fit RECIPE --help`` lists them). The recipes live
  beside the package in a source checkout / editable install (``pip install -e .``); set
  ``AUDIOCONV_RECIPES`` to a ``recipes/`` folder otherwise. ``audioconv fit --config
  RUN/config.yaml --output-dir NEW`` re-runs a run from its folder (the recipe it names).
- ``audioconv test --checkpoint RUN/checkpoints/best.ckpt`` re-evaluates a checkpoint on the test
  split of the recipe run that wrote it (options from ``RUN/config.yaml``).
- ``audioconv predict --checkpoint CKPT FILE...`` prints ``path  label  probability`` for audio
  (wav / flac / ogg ...), image (png / jpg ...) and CSV (one sensor window) files.
- ``audioconv summary MODEL --dims 2 --in-channels 1 --num-classes 10 --input-shape 1 32 32``.
- ``audioconv features FILE --kind logmel [--plot out.png] [--out out.npy]``.
- ``audioconv export`` / ``audioconv stream``: see :mod:`audioconv.export` and
  :mod:`audioconv.streaming`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["build_parser", "main"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
SENSOR_EXTENSIONS = (".csv", ".tsv", ".parquet", ".pq")
# kept in step with audioconv.data.audio.AUDIO_EXTENSIONS (importing it would load torch)
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au")
#: the recipe positional of ``fit --config RUN/config.yaml``: the run config names the recipe
FROM_CONFIG = "<from --config>"
KIND_EXTENSIONS = {
    "audio": AUDIO_EXTENSIONS,
    "image": IMAGE_EXTENSIONS,
    "sensor": SENSOR_EXTENSIONS,
}


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
    run(recipe)
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    import dataclasses

    from audioconv.runner import evaluate_checkpoint, load_recipe, recipe_options_from_run

    checkpoint = Path(args.checkpoint)
    run_dir = Path(args.run_dir) if args.run_dir else checkpoint.resolve().parent.parent
    name, options = recipe_options_from_run(run_dir)
    recipe_class = load_recipe(name)
    known = {f.name for f in dataclasses.fields(recipe_class)}
    options = {k: v for k, v in options.items() if k in known}
    options["output_dir"] = args.output_dir or run_dir / "test"
    options["smoke"] = args.smoke
    if args.data_dir is not None:
        options["data_dir"] = args.data_dir
    recipe = recipe_class(**options)
    report = evaluate_checkpoint(recipe, checkpoint, recipe.output_dir)
    print(f"== {name}: {checkpoint} -> {recipe.output_dir}\n{report.summary()}")
    return 0


def input_kind_of(path: Path) -> str | None:
    """``"audio"`` / ``"image"`` / ``"sensor"`` from the file suffix (``.csv.gz`` is sensor)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".gz"]:
        suffixes.pop()
    suffix = suffixes[-1] if suffixes else ""
    return next((kind for kind, exts in KIND_EXTENSIONS.items() if suffix in exts), None)


def read_input(path: Path, hparams: dict, *, channels: list[str] | None = None):
    """One file as the model's raw input ``input_shape``: audio ``(1, samples)`` resampled and
    centre-cropped / padded, an image ``(C, H, W)`` in [0, 1] resized, a sensor CSV
    ``(channels, time)`` centre-cropped to the window.

    Raises:
        ConfigError: the file's kind is not the model's, or its shape cannot fit.
    """
    import torch

    from audioconv.errors import ConfigError
    from audioconv.features import FixedLength

    expected = hparams.get("input_kind") or "audio"
    shape = tuple(hparams.get("input_shape") or ())
    kind = input_kind_of(path)
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
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if kind == "audio":
        from audioconv.io import load_audio

        rate = hparams.get("sample_rate")
        wave, _ = load_audio(path, sample_rate=None if rate is None else int(rate), mono=True)
        return FixedLength(shape[-1], crop="center")(wave) if shape else wave
    if kind == "image":
        import torchvision.transforms.v2.functional as TF
        from torchvision.io import ImageReadMode, decode_image

        mode = ImageReadMode.GRAY if shape and shape[0] == 1 else ImageReadMode.RGB
        try:
            image = decode_image(str(path), mode=mode)  # (C, H, W) uint8
        except RuntimeError as err:
            raise ConfigError(f"{path}: cannot decode the image ({err})") from err
        image = image.float() / 255.0
        if shape and tuple(image.shape[-2:]) != shape[-2:]:
            image = TF.resize(image, list(shape[-2:]), antialias=True)
        return image
    from audioconv.windows import read_sensor_log

    log = read_sensor_log(path, channels=channels)
    x = torch.as_tensor(log.data).T.contiguous()  # (time, channels) -> (channels, time)
    if shape and x.shape[0] != shape[0]:
        raise ConfigError(
            f"{path}: {x.shape[0]} numeric columns {list(log.channels)}, but the model takes "
            f"{shape[0]} channels: pass --channels with the {shape[0]} channel columns"
        )
    if shape and x.shape[1] < shape[1]:
        raise ConfigError(
            f"{path}: {x.shape[1]} rows, but the model's window is {shape[1]} samples: give at "
            "least one window of rows"
        )
    return FixedLength(shape[1], crop="center")(x) if shape else x


def _decide(probabilities, hparams: dict) -> tuple[str, float]:
    """(label, probability) of one example's ``predict_step`` output."""
    names = list(hparams.get("class_names") or [])
    task = hparams["task"]
    if task == "binary":
        p = float(probabilities)
        names = names or ["0", "1"]
        return (names[1], p) if p >= 0.5 else (names[0], 1.0 - p)
    if task == "multilabel":
        chosen = [i for i, p in enumerate(probabilities.tolist()) if p >= 0.5]
        label = ";".join(names[i] if names else str(i) for i in chosen) or "-"
        return label, float(probabilities.max())
    index = int(probabilities.argmax())
    return (names[index] if names else str(index)), float(probabilities[index])


def cmd_predict(args: argparse.Namespace) -> int:
    import torch

    from audioconv.tasks import load_classifier

    model = load_classifier(args.checkpoint)
    hparams = dict(model.hparams)
    if "heads" in hparams:
        from audioconv.errors import ConfigError

        raise ConfigError(f"{args.checkpoint}: predict handles single-head classifiers")
    channels = args.channels.split(",") if args.channels else None
    inputs = [read_input(Path(f), hparams, channels=channels) for f in args.files]
    width = max(len(f) for f in args.files)
    with torch.inference_mode():
        for path, x in zip(args.files, inputs):
            output = model.predict_step(x[None], 0)[0]  # (1, ...) -> one example
            label, probability = _decide(output, hparams)
            print(f"{path:<{width}}  {label}  {probability:.4f}")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from audioconv.models import create, summary

    model = create(
        args.model, dims=args.dims, in_channels=args.in_channels, num_classes=args.num_classes
    )
    print(summary(model, tuple(args.input_shape)))
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
    from audioconv.export import export_checkpoint

    path = export_checkpoint(
        args.checkpoint,
        format=args.format,
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
    )
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
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fit = commands.add_parser(
        "fit",
        help="train and test a recipe (audioconv fit RECIPE --help lists its options)",
        description="Run recipes/<RECIPE>.py: train, test the best checkpoint, write the report. "
        "Recipes are found beside the package (editable install / source checkout) or in "
        "$AUDIOCONV_RECIPES.",
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

    predict = commands.add_parser(
        "predict", help="classify audio / image / CSV files: path  label  probability"
    )
    predict.add_argument("--checkpoint", required=True)
    predict.add_argument("files", nargs="+", metavar="FILE")
    predict.add_argument("--channels", help="comma-separated channel columns of CSV inputs")
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
    export.add_argument("--checkpoint", required=True)
    export.add_argument("--format", choices=("onnx", "torchscript"), default="onnx")
    export.add_argument("--output", required=True)
    export.add_argument("--sample-rate", type=float)
    export.add_argument("--input-shape", type=int, nargs="+")
    export.add_argument(
        "--dynamic-time", action=argparse.BooleanOptionalAction, default=None,
        help="accept any input length (default: when the model allows it)",
    )  # fmt: skip
    export.set_defaults(func=cmd_export)

    stream = commands.add_parser("stream", help="classify a stream window by window")
    stream.add_argument("--checkpoint", required=True, help="a .ckpt or an exported .onnx")
    stream.add_argument("source", help="an audio file, or - for raw PCM on stdin")
    stream.add_argument("--window-s", type=float)
    stream.add_argument("--hop-s", type=float, default=0.25)
    stream.add_argument("--smoothing", choices=("mean", "majority"))
    stream.add_argument("--smoothing-k", type=int, default=5)
    stream.add_argument("--sample-rate", type=float)
    stream.add_argument("--channels", type=int)
    stream.add_argument("--pcm-format", default="s16le")
    stream.add_argument("--chunk-s", type=float, default=0.1)
    stream.set_defaults(func=cmd_stream)
    return parser


def _recipe_from_config(argv: list[str]) -> list[str]:
    """``fit --config FILE ...`` -> ``fit <FROM_CONFIG> --config FILE ...``: the recipe is the one
    the run config names (argparse cannot start a REMAINDER with an option)."""
    if argv[:1] == ["fit"] and len(argv) > 1 and argv[1].partition("=")[0] == "--config":
        return ["fit", FROM_CONFIG, *argv[1:]]
    return list(argv)


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
        return args.func(args)
    except (AudioConvError, FileNotFoundError) as err:
        parser.exit(2, f"audioconv {args.command}: error: {err}\n")


if __name__ == "__main__":
    sys.exit(main())
