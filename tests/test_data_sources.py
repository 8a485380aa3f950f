"""Image and time-series sources: UCR / UEA through aeon offline, local .ts files, MNIST idx and
CIFAR-10 batches from a local folder, image folders, the built-in digits."""

from __future__ import annotations

import pickle
import socket

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from audioconv.data import (
    TimeSeriesDataModule,
    cifar10,
    image_folder,
    load_digits_images,
    load_ts,
    load_ucr,
    mnist,
)
from audioconv.errors import ConfigError, DatasetError


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_gunpoint_loads_offline_from_aeon(no_network):
    train, test = load_ucr("GunPoint")
    assert train.x.shape == (50, 1, 150) and test.x.shape == (150, 1, 150)
    assert train.class_names == ["1", "2"] and train.x.dtype == torch.float32
    assert np.bincount(train.targets()).tolist() == [24, 26]
    dm = TimeSeriesDataModule(train, test=test, val_size=0.2, batch_size=16)
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (16, 1, 150) and dm.in_channels == 1 and dm.num_classes == 2
    assert len(dm.train_set) == 40 and len(dm.val_set) == 10 and len(dm.test_set) == 150


def test_unequal_length_multivariate_is_padded_with_lengths(no_network):
    train, test = load_ucr("JapaneseVowels")
    assert train.x.shape[1] == 12 and train.x.shape[2] == test.x.shape[2]
    longest = int(train.x.shape[2])
    i = int(torch.argmin(train.lengths))
    assert train.lengths[i] < longest and (train.x[i, :, train.lengths[i] :] == 0).all()
    resampled, _ = load_ucr("JapaneseVowels", unequal="resample")
    assert torch.equal(resampled.lengths, train.lengths) and resampled.x.shape == train.x.shape
    short = train.x[i, :, : train.lengths[i]]  # the shortest series, stretched end to end
    assert torch.allclose(resampled.x[i, :, [0, -1]], short[:, [0, -1]])
    assert not (resampled.x[i, :, int(train.lengths[i]) :] == 0).all()


def test_ucr_2018_tsv_archive_as_it_unzips(tmp_path, no_network):
    """<root>/GunPoint/GunPoint_TRAIN.tsv (class, then values, tab-separated) reads as the .ts
    files aeon ships; shorter series padded with NaN get their true lengths back, and a NaN inside
    a series is a missing value."""
    train, test = load_ucr("GunPoint")
    folder = tmp_path / "GunPoint"
    folder.mkdir()
    for part, data in (("TRAIN", train), ("TEST", test)):
        table = pd.DataFrame(data.x[:, 0].numpy().astype(np.float64))
        table.insert(0, "class", [int(data.class_names[i]) for i in data.y])
        table.to_csv(folder / f"GunPoint_{part}.tsv", sep="\t", header=False, index=False)
    train_tsv, test_tsv = load_ucr("GunPoint", extract_path=tmp_path)
    assert train_tsv.class_names == train.class_names and torch.equal(test_tsv.y, test.y)
    assert torch.equal(train_tsv.x, train.x) and train_tsv.lengths is None

    rows = ["1\t0.5\t1.5\t2.5\t3.5", "2\t4\t5\tNaN\tNaN", "10\t1\tNaN\t2\tNaN"]
    path = tmp_path / "Short_TRAIN.tsv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DatasetError, match="missing values"):  # row 3: NaN between 1 and 2
        load_ts(path, unequal="resample")
    ds = load_ts(path, unequal="resample", nan="zero")
    assert ds.class_names == ["1", "2", "10"] and ds.lengths.tolist() == [4, 2, 3]
    np.testing.assert_allclose(ds.x[1, 0].numpy(), [4, 4 + 1 / 3, 4 + 2 / 3, 5], rtol=1e-6)
    np.testing.assert_allclose(ds.x[2, 0].numpy(), [1, 1 / 3, 2 / 3, 2], rtol=1e-6)  # 1, 0, 2


def test_local_ts_file_and_missing_problem(tmp_path, no_network):
    path = tmp_path / "Tiny_TRAIN.ts"
    path.write_text(
        "@problemName Tiny\n@timeStamps false\n@univariate true\n@equalLength false\n"
        "@classLabel true up down\n@data\n1,2,3,4:up\n4,3,2:down\n1,2:up\n"
    )
    ds = load_ts(path)
    assert ds.class_names == ["up", "down"] and ds.x.shape == (3, 1, 4)
    assert ds.lengths.tolist() == [4, 3, 2] and ds.y.tolist() == [0, 1, 0]
    with pytest.raises(DatasetError, match="timeseriesclassification.com"):
        load_ucr("NoSuchProblem")


def _idx(path, array: np.ndarray, code: int) -> None:
    header = bytes([0, 0, 0x08, code]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_mnist_idx_files_from_a_local_folder(tmp_path):
    with pytest.raises(DatasetError, match="MNIST/raw"):
        mnist(tmp_path)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 6), ("t10k", 4)):
        _idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), 3)
        _idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10, 1)
    train, test = mnist(tmp_path), mnist(tmp_path, train=False)
    assert len(train) == 6 and len(test) == 4
    x, y = train[3]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and int(y) == 3
    assert x.min() >= 0 and x.max() <= 1


def test_cifar10_batches_from_a_local_folder(tmp_path):
    with pytest.raises(DatasetError, match="cifar-10-batches-py"):
        cifar10(tmp_path)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    names = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), "labels": [1, 7]}
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names}))
    with pytest.raises(DatasetError, match="MD5"):
        cifar10(tmp_path)  # the real check refuses a re-packed copy with a clear message
    train = cifar10(tmp_path, verify=False)
    assert len(train) == 10 and train.class_names == names
    x, y = train[1]
    assert x.shape == (3, 32, 32) and train.class_names[int(y)] == "horse"


def test_image_folder_and_digits(tmp_path):
    for label in ("circle", "square"):
        for i in range(2):
            (tmp_path / label).mkdir(exist_ok=True)
            Image.fromarray(np.full((10, 12, 3), 40 * i, np.uint8)).save(
                tmp_path / label / f"{i}.png"
            )
    (tmp_path / "circle" / "._0.png").write_bytes(b"\x00\x05\x16\x07Mac OS X")  # not images
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / "__MACOSX" / "circle").mkdir(parents=True)
    ds = image_folder(tmp_path, size=16, grayscale=True)
    assert ds.class_names == ["circle", "square"] and ds[3][0].shape == (1, 16, 16)
    assert len(ds) == 4
    digits = load_digits_images(size=32)
    assert digits.x.shape == (1797, 1, 32, 32) and float(digits.x.max()) <= 1.0
    with pytest.raises(ConfigError):
        load_digits_images(size=4)


def test_window_datasets_need_stream_wise_validation():
    from audioconv.windows import WindowDataset

    streams = [np.random.default_rng(i).normal(size=(200, 3)).astype(np.float32) for i in range(4)]
    windows = WindowDataset(streams, [0, 1, 0, 1], window=32, hop=16)
    with pytest.raises(ConfigError, match="split_streams"):
        TimeSeriesDataModule(windows, class_names=["rest", "walk"])
    dm = TimeSeriesDataModule(
        windows, val=windows, test_size=0.0, class_names=["rest", "walk"], batch_size=8
    )
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (8, 3, 32) and dm.in_channels == 3 and dm.class_names == ["rest", "walk"]


def test_unverified_cifar10_pickle_naming_code_is_refused(tmp_path):
    """verify=False skips the MD5 check, so a batch is unpickled with only arrays allowed: a file
    naming os.system is refused before it runs."""
    import os

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    batch = {"data": np.zeros((1, 3072), np.uint8), "labels": [0]}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": Payload()}))
    with pytest.raises(DatasetError, match=r"batches.meta: the pickle names posix.system"):
        cifar10(tmp_path, verify=False)
    assert not marker.exists()
