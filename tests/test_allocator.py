"""``ensure_tuned_malloc``: one re-exec with the glibc tunables set, argv kept, opt-out respected.

Each case runs a small script in a fresh interpreter; the script appends one JSON line per start
(so a re-exec shows as a second line) and then calls ``ensure_tuned_malloc()``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from audioconv._allocator import TUNABLES

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, os, sys
with open(sys.argv[1], "a") as log:
    log.write(json.dumps({
        "argv": sys.argv,
        "orig_argv": sys.orig_argv,
        "env": {k: os.environ.get(k) for k in (*%(keys)r, "AUDIOCONV_MALLOC_TUNED")},
    }) + "\\n")
from audioconv._allocator import ensure_tuned_malloc
print(ensure_tuned_malloc())
"""


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TUNABLES and not k.startswith("AUDIOC")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _run(tmp_path: Path, *args: str, env: dict[str, str], interpreter_options=()):
    script = tmp_path / "probe.py"
    script.write_text(SCRIPT % {"keys": tuple(TUNABLES)})
    log = tmp_path / "starts.jsonl"
    proc = subprocess.run(
        [sys.executable, *interpreter_options, str(script), str(log), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    starts = [json.loads(line) for line in log.read_text().splitlines()]
    return starts, proc.stdout.strip()


def test_reexecs_exactly_once_with_tunables_and_same_argv(tmp_path):
    args = ("--flag", "two words", "ünïcode")
    starts, out = _run(tmp_path, *args, env=_clean_env(), interpreter_options=("-u",))
    assert len(starts) == 2, starts  # the original start and exactly one re-exec
    first, second = starts
    assert all(v is None for v in first["env"].values())
    for key, value in TUNABLES.items():
        assert second["env"][key] == value
    assert second["env"]["AUDIOCONV_MALLOC_TUNED"] == "1"
    assert second["argv"] == first["argv"] and second["argv"][2:] == list(args)
    assert "-u" in second["orig_argv"]  # interpreter options survive the re-exec
    assert out.startswith("runtime tuned") and "GOMP_SPINCOUNT=1000" in out
    assert str(1 << 30) in out


@pytest.mark.parametrize("value", ["off", "OFF", "0", "false", "no"])
def test_opt_out_runs_once_untuned(tmp_path, value):
    starts, out = _run(tmp_path, env=_clean_env(AUDIOCONV_MALLOC=value))
    assert len(starts) == 1
    assert all(v is None for v in starts[0]["env"].values())
    assert "AUDIOCONV_MALLOC=off" in out


def test_user_set_tunables_win_and_no_reexec(tmp_path):
    # all tunables already in the environment (e.g. set by a job script): keep them, do not re-exec
    user = dict.fromkeys(TUNABLES, "65536")
    starts, out = _run(tmp_path, env=_clean_env(**user))
    assert len(starts) == 1
    assert starts[0]["env"] == {**user, "AUDIOCONV_MALLOC_TUNED": None}
    assert "65536" in out


def test_partial_user_setting_is_kept_on_reexec(tmp_path):
    key, *rest = TUNABLES
    starts, _ = _run(tmp_path, env=_clean_env(**{key: "4096"}))
    assert len(starts) == 2
    assert starts[1]["env"][key] == "4096"  # the user's value wins over the default
    for other in rest:
        assert starts[1]["env"][other] == TUNABLES[other]
