"""Measurements in child processes, so each one's peak RSS is its own and not the harness's.

``run_child("bench.baseline_pika:confirm_each", {...})`` starts ``python -m bench.proc TARGET
KWARGS``; the child imports TARGET, calls it with KWARGS, and prints one JSON line with the
result and its own peak RSS (``VmHWM``), read after the call.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_MARK = "BENCH-RESULT "


def peak_rss_mb(pid: int | str = "self") -> float:
    """Peak resident set size (VmHWM) of a live process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmHWM line")


def run_child(target: str, kwargs: Mapping[str, Any], env: Mapping[str, str] | None = None,
              timeout: float = 600) -> tuple[dict[str, Any], float]:
    """Run ``module:function(**kwargs)`` in a fresh interpreter; return (its result, its peak RSS MiB)."""
    done = subprocess.run([sys.executable, "-m", "bench.proc", target, json.dumps(dict(kwargs))],
                          env=dict(env if env is not None else os.environ), capture_output=True, text=True,
                          timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith(_MARK)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"bench child {target} exited {done.returncode}:\n"
                           f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    answer = json.loads(lines[-1][len(_MARK):])
    return answer["result"], float(answer["peak_rss_mb"])


def _main(argv: list[str]) -> None:
    module_name, _, function_name = argv[0].partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(**json.loads(argv[1]))
    print(_MARK + json.dumps({"result": result, "peak_rss_mb": peak_rss_mb()}), flush=True)


if __name__ == "__main__":
    _main(sys.argv[1:])
