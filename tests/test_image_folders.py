"""Your own image folders, the way a user goes: class folders on disk (every format the library
reads, 16-bit and colour pictures for a grayscale model) -> ``audioconv fit`` -> the run's
``predictions.csv``, which ``audioconv predict`` with the checkpoint and with its ONNX export must
reproduce file by file; a ``train/`` + ``test/`` pair numbered by the training classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from audioconv.cli import main
from audioconv.decode import read_image
from audioconv.errors import InputError

pytestmark = pytest.mark.xdist_group("recipes")

COLOURS = {"blue": (30, 60, 200), "green": (40, 180, 60), "red": (210, 40, 30)}
#: every suffix the library reads, each saved by Pillow as that format
FORMATS = (".png", ".jpg", ".gif", ".bmp", ".tif", ".ppm", ".webp")


def picture(label: str, k: int) -> np.ndarray:
    """A noisy ``(12, 12, 3)`` uint8 picture of its class colour with a bright square."""
    rng = np.random.default_rng(hash((label, k)) % 2**32)
    pixels = np.clip(np.array(COLOURS[label]) + rng.normal(0, 25, (12, 12, 3)), 0, 255)
    y, x = rng.integers(0, 8, 2)
    pixels[y : y + 4, x : x + 4] = 255
    return pixels.astype(np.uint8)


def save(path: Path, pixels: np.ndarray, k: int) -> None:
    """Every 4th picture as a 16-bit grayscale PNG (values x 257), the others in turn as each of
    :data:`FORMATS`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if k % 4 == 3:
        gray = (pixels.astype(np.float32) @ [0.2989, 0.587, 0.114]) * 257
        Image.fromarray(gray.astype(np.uint16)).save(path.with_suffix(".png"))
        return
    Image.fromarray(pixels).save(path.with_suffix(FORMATS[k % len(FORMATS)]))


def make_folders(root: Path, test_classes=("blue", "red")) -> None:
    for label in COLOURS:
        for k in range(10):
            save(root / "train" / label / f"{label}{k}", picture(label, k), k)
    for label in test_classes:
        for k in range(10, 14):
            save(root / "test" / label / f"{label}{k}", picture(label, k), k)


def test_read_image_scales_16_bit_and_converts_colour_as_training_does(tmp_path):
    pixels = picture("red", 0)
    Image.fromarray(pixels).save(tmp_path / "rgb.png")
    Image.fromarray(pixels[..., 0].astype(np.uint16) * 257).save(tmp_path / "deep.png")
    Image.fromarray(pixels[..., 0]).save(tmp_path / "gray.png")
    rgb = read_image(tmp_path / "rgb.png", channels=3)
    assert rgb.shape == (3, 12, 12) and rgb.dtype == np.float32
    np.testing.assert_allclose(rgb, pixels.transpose(2, 0, 1) / 255, atol=1e-6)
    # a 16-bit image reads as the 8-bit one it was made from, not clipped to white
    deep, gray = (read_image(tmp_path / name, channels=1) for name in ("deep.png", "gray.png"))
    np.testing.assert_allclose(deep, gray, atol=1e-6)
    np.testing.assert_allclose(
        read_image(tmp_path / "rgb.png", channels=1)[0],
        pixels.astype(np.float32) @ [0.2989, 0.587, 0.114] / 255, atol=1e-5,
    )  # fmt: skip
    Image.fromarray(pixels[..., 0].astype(np.float32)).save(tmp_path / "float.tif")
    with pytest.raises(InputError, match=r"float.tif: a 32-bit float image"):
        read_image(tmp_path / "float.tif", channels=1)


@pytest.mark.slow
def test_predict_and_onnx_give_the_reports_answers_on_every_image_format(tmp_path, capsys):
    data, run = tmp_path / "pictures", tmp_path / "run"
    make_folders(data)  # test/ has no green: the labels must not shift
    argv = ["fit", "image_classification", "--dataset", "folder", "--data-dir", str(data),
            "--image-size", "16", "--grayscale", "true", "--max-epochs", "3", "--batch-size", "8",
            "--output-dir", str(run)]  # fmt: skip
    assert main(argv) == 0
    table = pd.read_csv(run / "predictions.csv")
    assert len(table) == 8 and (table["true"] == [Path(p).parent.name for p in table["path"]]).all()
    splits = pd.read_csv(run / "splits.csv")
    assert (splits["label"] == [Path(p).parent.name for p in splits["path"]]).all()
    assert len(splits) == 38 and {Path(p).suffix for p in splits["path"]} == set(FORMATS)

    onnx = tmp_path / "model.onnx"
    assert main(["export", "--checkpoint", str(run / "checkpoints" / "best.ckpt"),
                 "--output", str(onnx)]) == 0  # fmt: skip
    for model in (run / "checkpoints" / "best.ckpt", onnx):
        out = tmp_path / f"{model.stem}.csv"
        assert main(["predict", "--quiet", "--checkpoint", str(model), *table["path"],
                     "--top-k", "3", "--output", str(out)]) == 0  # fmt: skip
        predicted = pd.read_csv(out)
        assert list(predicted["path"]) == list(table["path"])
        assert list(predicted["label"]) == list(table["predicted"])
        for rank in (1, 2, 3):
            reported = [table.loc[i, f"p_{c}"] for i, c in enumerate(predicted[f"top{rank}"])]
            np.testing.assert_allclose(predicted[f"top{rank}_probability"], reported, atol=2e-5)
    capsys.readouterr()


@pytest.mark.slow
def test_a_test_folder_with_a_class_training_lacks_is_refused_before_training(tmp_path, capsys):
    data = tmp_path / "pictures"
    make_folders(data, test_classes=("blue", "red"))
    save(data / "test" / "amber" / "amber0", picture("red", 99), 0)
    argv = ["fit", "image_classification", "--dataset", "folder", "--data-dir", str(data),
            "--output-dir", str(tmp_path / "run")]  # fmt: skip
    with pytest.raises(SystemExit):
        main(argv)
    err = capsys.readouterr().err
    assert f"{data / 'test'}: class folder(s) ['amber'] are not among the training classes" in err
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.slow
def test_compare_refuses_image_runs_on_other_pictures(tmp_path, capsys):
    runs = []
    for name, seed in (("a", 0), ("b", 1)):
        data = tmp_path / f"pictures_{name}"
        for label in ("blue", "red"):
            for k in range(8):
                pixels = picture(label, k + 100 * seed)  # same names and counts, other pictures
                save(data / label / f"{label}{k}", pixels, 0)
        runs.append(tmp_path / f"run_{name}")
        assert main(["fit", "image_classification", "--dataset", "folder", "--data-dir",
                     str(data), "--image-size", "16", "--max-epochs", "1", "--batch-size", "8",
                     "--output-dir", str(runs[-1])]) == 0  # fmt: skip
    for split in ("test", "val"):
        with pytest.raises(SystemExit):
            main(["compare", *map(str, runs), "--split", split])
        assert "hold different clips" in capsys.readouterr().err
