"""Tune the process at start: malloc keeps activation buffers, idle OpenMP threads soon sleep.

PyTorch on CPU allocates activations with plain ``malloc``. glibc serves blocks above
``M_MMAP_THRESHOLD`` (dynamic, starting at 128 KiB) with fresh ``mmap`` calls and hands them back
with ``munmap`` on free, so each step re-faults every large buffer page by page. Raising the mmap
and trim thresholds keeps freed memory in the heap for the next step.

PyTorch's OpenMP threads (GNU libgomp in the Linux wheels) spin for 300,000 iterations at every
barrier by default. With one thread per core that is fine on an idle machine, but when another
process wants a core (a shared server, CI, a second job) the spinning threads and the descheduled
straggler slow each step down 2-10x. ``GOMP_SPINCOUNT=1000`` spins briefly, then sleeps: measured
on 2 cores (plain loop, batch 32), idle 1090-1140 vs 1156-1187 samples/s for the demo model
(within noise), one core busy 505-516 vs 289-316 (``OMP_WAIT_POLICY=PASSIVE``: 945-997 idle,
533-564 busy).

Both are read when the process starts, so ``ensure_tuned_malloc()`` re-executes the current
command once with them set. Only the training command lines call it (``audioconv fit`` from
the console script or ``python -m audioconv.cli``, and ``python recipes/<name>.py``; see
:func:`is_command_line_entry`): a library call such as ``runner.main(...)`` from a notebook or
another program never replaces its process. ``benchmarks/bench_training.py`` measures the
effect side by side.
Set ``AUDIOCONV_MALLOC=off`` to opt out (``audioconv fit`` and the recipes print one line saying
which settings are active); values already in the environment win.
"""

from __future__ import annotations

import os
import sys

TUNABLES = {
    # 1 GiB: blocks below this come from the heap and are reused instead of mmap'd afresh.
    "MALLOC_MMAP_THRESHOLD_": str(1 << 30),
    # Do not give the top of the heap back to the OS after every free.
    "MALLOC_TRIM_THRESHOLD_": str(1 << 30),
    # Idle OpenMP threads spin briefly, then sleep (robust when other processes share the cores).
    "GOMP_SPINCOUNT": "1000",
}
_MARKER = "AUDIOCONV_MALLOC_TUNED"


def tuned_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``env`` (default ``os.environ``) plus the tunables; values already set win."""
    out = dict(os.environ if env is None else env)
    for key, value in TUNABLES.items():
        out.setdefault(key, value)
    out[_MARKER] = "1"
    return out


def is_command_line_entry(entry: object) -> bool:
    """Whether this process was started from the command line to run ``entry``.

    True when ``__main__`` is a file the interpreter was asked to run (``python script.py``, a
    console script, ``python -m package.module``) and ``entry`` is defined in that file (the
    recipe class of ``python recipes/<name>.py``), or is a function the file imported (the
    ``main`` a console script calls). False in notebooks and REPLs (``__main__`` has no file),
    under ``python -c``, and when other code calls ``entry`` (a script importing a recipe class).
    """
    main = sys.modules.get("__main__")
    file = getattr(main, "__file__", None)
    if main is None or file is None:
        return False
    owned = getattr(entry, "__module__", None) == "__main__"
    imported = callable(entry) and not isinstance(entry, type)
    if not (owned or (imported and any(value is entry for value in vars(main).values()))):
        return False
    argv = list(getattr(sys, "orig_argv", sys.argv))
    spec = getattr(main, "__spec__", None)
    if spec is not None and "-m" in argv[1:-1]:  # python -m package.module
        module = argv[argv.index("-m") + 1]
        return module in (spec.name, spec.name.removesuffix(".__main__"))
    return any(os.path.realpath(arg) == os.path.realpath(file) for arg in argv[1:])


def ensure_tuned_malloc() -> str:
    """Re-exec the running Python command with :data:`TUNABLES` unless already tuned or opted out.

    Returns a one-line description of the runtime settings (when it returns at all: on the first
    call it replaces the process, keeping the interpreter options and arguments of
    ``sys.orig_argv``). Only acts on Linux with glibc, where the tunables exist.
    """
    if os.environ.get("AUDIOCONV_MALLOC", "").lower() in {"off", "0", "false", "no"}:
        return "allocator: system default (AUDIOCONV_MALLOC=off)"
    if not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"):
        return "allocator: system default (glibc tunables need Linux + glibc)"
    if os.environ.get(_MARKER) == "1" or all(k in os.environ for k in TUNABLES):
        settings = ", ".join(f"{k}={os.environ.get(k)}" for k in TUNABLES)
        return f"runtime tuned ({settings}); AUDIOCONV_MALLOC=off disables"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], tuned_environment())
    raise AssertionError("unreachable: os.execve does not return")
