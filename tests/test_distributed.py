"""Two-process DDP on CPU (gloo) through ``training.fit(strategy="ddp", devices=2)``.

The training script runs in a subprocess: Lightning's DDP launcher starts rank 1 by re-running the
script. The test split has an odd size (13), so Lightning's ``DistributedSampler`` pads one rank
with a repeated sample; the report of the 2-process test must still count each sample once and
equal the report of a single process evaluating the same checkpoint. Each rank records which
samples it saw, to check the sharding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
N_TRAIN, N_VAL, N_TEST, WORLD = 24, 9, 13, 2

SCRIPT = """
import json, sys
from pathlib import Path

import lightning as L
import torch

from audioconv import models
from audioconv.tasks import Classifier
from audioconv.training import TensorDataModule, fit

out = Path(sys.argv[1])
data = torch.load(sys.argv[2])


class Seen(L.Callback):
    # records the ids (channel 1, first sample) of every train / test row this rank processed
    def __init__(self):
        self.ids = {"train": [], "test": []}

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if trainer.current_epoch == 0:
            self.ids["train"] += torch.round(batch[0][:, 1, 0] * 1000).long().tolist()

    def on_test_batch_start(self, trainer, module, batch, batch_idx, dataloader_idx=0):
        self.ids["test"] += torch.round(batch[0][:, 1, 0] * 1000).long().tolist()

    def on_test_end(self, trainer, module):
        record = {"world_size": trainer.world_size, "ids": self.ids,
                  "n_report": module.test_report.n_samples}
        (out / f"rank{trainer.global_rank}.json").write_text(json.dumps(record))


backbone = models.create("conv1d", dims=1, in_channels=2, num_classes=3, filters=(8, 8))
model = Classifier(backbone, task="multiclass", num_classes=3, class_names=["a", "b", "c"])
datamodule = TensorDataModule(*(data[split] for split in ("train", "val", "test")), batch_size=4)
fit(model, datamodule, output_dir=out, max_epochs=2, accelerator="cpu", devices=%(world)d,
    strategy="ddp", enable_progress_bar=False, log_every_n_steps=1, callbacks=[Seen()])
"""


def _split(n: int, offset: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(n, 2, 32)`` waves whose channel 1 holds the sample id / 1000, and labels ``(n,)`` in
    0..2. (The raw ids, 2000+, would saturate the softmax: tied scores, whose order in the ROC /
    PR curves then hangs on the last bit of each process's kernels.)"""
    x = torch.randn(n, 2, 32, generator=generator)
    y = torch.randint(0, 3, (n,), generator=generator)
    x[:, 0] += y[:, None].float()  # learnable signal in channel 0
    ids = torch.arange(offset, offset + n, dtype=torch.float32) / 1000
    x[:, 1] = ids[:, None]  # (n,) -> (n, 32)
    return x, y


def test_two_process_ddp_report_equals_single_process(tmp_path):
    from audioconv import models
    from audioconv.evaluation import Report, evaluate, report_differences
    from audioconv.tasks import load_classifier, task_output

    generator = torch.Generator().manual_seed(0)
    data = {
        "train": _split(N_TRAIN, 0, generator),
        "val": _split(N_VAL, 1000, generator),
        "test": _split(N_TEST, 2000, generator),
    }
    torch.save(data, tmp_path / "data.pt")
    script = tmp_path / "train_ddp.py"
    script.write_text(SCRIPT % {"world": WORLD})
    out = tmp_path / "run"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(script), str(out), str(tmp_path / "data.pt")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in range(WORLD)]
    assert [r["world_size"] for r in ranks] == [WORLD] * WORLD
    # training shards are disjoint and cover the split (24 divides evenly: no padding)
    train = [set(r["ids"]["train"]) for r in ranks]
    assert not train[0] & train[1]
    assert train[0] | train[1] == set(range(N_TRAIN))
    # test shards: every sample seen; only the sampler's padding repeats one
    test_ids = [i for r in ranks for i in r["ids"]["test"]]
    assert set(test_ids) == set(range(2000, 2000 + N_TEST))
    assert len(test_ids) == WORLD * -(-N_TEST // WORLD)
    # every rank's report counts each test sample once
    assert [r["n_report"] for r in ranks] == [N_TEST] * WORLD

    # the same checkpoint evaluated by one process, without Lightning's loop
    best = out / "checkpoints" / "best.ckpt"
    backbone = models.create("conv1d", dims=1, in_channels=2, num_classes=3, filters=(8, 8))
    model = load_classifier(best, backbone=backbone)
    x, y = data["test"]
    with torch.no_grad():
        scores = task_output(model(x), task="multiclass")
    single = evaluate(y, scores, task="multiclass", class_names=["a", "b", "c"])
    distributed = Report.from_json(out / "report.json")
    assert distributed.n_samples == N_TEST
    assert report_differences(distributed, single, atol=1e-5) == []
