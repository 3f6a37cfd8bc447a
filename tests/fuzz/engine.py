"""One coverage-guided atheris (libFuzzer) process for one target.

    python -m tests.fuzz.engine TARGET [libFuzzer flags and corpus dirs]

Run by tests.fuzz.run, which chooses the flags. The parsers (package `mappings`) are imported
under atheris instrumentation so libFuzzer sees their branches. A disallowed outcome does not stop
the process: it is written to fixtures/fuzz/crashes/ once per signature (exception type and the
innermost project frame), keeping the smallest input, and fuzzing goes on. Hangs and memory
blow-ups are libFuzzer's: -timeout / -rss_limit_mb write them there (artifact_prefix) and exit.
"""

from __future__ import annotations

import hashlib
import random
import sys
import traceback
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["mappings"]):
    # the targets import every parser module: all of `mappings` they reach gets instrumented
    from tests.fuzz import mutate
    from tests.fuzz.targets import TARGETS, BadOutcome, FuzzTarget

ROOT = Path(__file__).resolve().parents[2]
CRASHES = ROOT / "fixtures" / "fuzz" / "crashes"
CUSTOM_SHARE = 0.2  # of mutations made by tests.fuzz.mutate rather than by libFuzzer


def signature(exc: BaseException) -> str:
    """Exception type @ innermost frame under the project root: one crash file per bug."""
    where = "unknown"
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if path.is_relative_to(ROOT) and "tests/fuzz" not in path.as_posix():
            where = f"{path.relative_to(ROOT).with_suffix('').as_posix().replace('/', '.')}-{frame.lineno}"
    if isinstance(exc, BadOutcome):
        where = hashlib.sha1(str(exc).split(" (")[0].encode()).hexdigest()[:8]
    return f"{type(exc).__name__}-{where}"


def record_crash(target: str, data: bytes, exc: BaseException) -> Path | None:
    """Write the input and its traceback, unless a smaller input of this signature is kept."""
    CRASHES.mkdir(parents=True, exist_ok=True)
    stem = f"{target}--{signature(exc)}"
    path = CRASHES / f"{stem}.bin"
    if path.exists() and path.stat().st_size <= len(data):
        return None
    path.write_bytes(data)
    text = "".join(traceback.format_exception(exc))
    (CRASHES / f"{stem}.txt").write_text(f"target: {target}\ninput: {path.name} ({len(data)} bytes)\n\n{text}",
                                        encoding="utf-8")
    return path


class Harness:
    def __init__(self, target: FuzzTarget, seeds: list[bytes]) -> None:
        self.target = target
        self.seeds = seeds
        self.crashes = 0

    def __call__(self, data: bytes) -> None:
        try:
            self.target(data)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # MemoryError, RecursionError …: every escape is a finding
            self.crashes += 1
            written = record_crash(self.target.name, data, exc)
            if written is not None:
                print(f"\n== {self.target.name}: {signature(exc)} -> {written}", file=sys.stderr, flush=True)

    def mutator(self, data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        if rng.random() >= CUSTOM_SHARE:
            result: bytes = atheris.Mutate(data, max_size)
            return result
        return mutate.apply(data, mutate.random_ops(rng), self.seeds, limit=max_size)


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in TARGETS:
        raise SystemExit(f"usage: python -m tests.fuzz.engine TARGET [libFuzzer args]; targets: {', '.join(TARGETS)}")
    name, flags = argv[1], argv[2:]
    seed_dir = ROOT / "fixtures" / "fuzz" / "corpus" / name
    seeds = [p.read_bytes() for p in sorted(seed_dir.glob("seed-*"))] if seed_dir.is_dir() else []
    harness = Harness(TARGETS[name], seeds)
    # argv[0] is what libFuzzer runs again for -merge: the module command, one shell word per part.
    atheris.Setup([f"{sys.executable} -m tests.fuzz.engine {name}", *flags], harness,
                  custom_mutator=harness.mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
