"""Fuzz the parsers: coverage-guided atheris, one target at a time, then a minimised corpus.

    nice -n 10 .venv/bin/python -m tests.fuzz.run --minutes 60            # all targets, time shared
    .venv/bin/python -m tests.fuzz.run --minutes 5 --target kokuho_frame  # one target
    .venv/bin/python -m tests.fuzz.run --seeds                            # (re)write the seed files

Per target: a libFuzzer process (tests.fuzz.engine) runs for its share of the time with the
target's corpus, writing new finds to a scratch directory, first with input lengths grown
gradually, then (LONG_SHARE of the time) with any length up to MAX_LEN; if it stops early (a hang
or memory blow-up, written to fixtures/fuzz/crashes/) it is started again for the time left. Then the
corpus is rebuilt with libFuzzer's set-cover merge: the seed files, plus the fewest finds (of at
most KEEP_BYTES each) that keep all the coverage, less any that still break the contract (those
are in crashes/). One line per target goes to
fixtures/fuzz/runs.jsonl (time, executions, corpus size, crash files).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.fuzz.mutate import TOKENS
from tests.fuzz.seeds import seeds
from tests.fuzz.targets import TARGETS

ROOT = Path(__file__).resolve().parents[2]
FUZZ = ROOT / "fixtures" / "fuzz"
CORPUS, CRASHES, RUNS = FUZZ / "corpus", FUZZ / "crashes", FUZZ / "runs.jsonl"
MAX_LEN = 8_192  # inputs the fuzzer makes: room for a 5,000-byte field inside a real file
# A custom mutator makes libFuzzer try max_len inputs at once (len_control 0); parse time grows
# with the input, so lengths are grown gradually as without one — but then they stay short
# (~1.4 KB after 135,000 runs) and a 4,301-digit field is never tried. So the last LONG_SHARE of
# a target's time runs with len_control 0: every length up to max_len, on the corpus grown so far.
LEN_CONTROL = 50
LONG_SHARE = 0.3
KEEP_BYTES = 4_096  # corpus files kept: small
PER_INPUT_TIMEOUT = 20  # seconds: a hang
RSS_LIMIT_MB = 1_536
RESTARTS = 6  # processes per target: two phases, and a restart after each hang or blow-up


@dataclass
class Result:
    target: str
    started: str
    commit: str
    seconds: float
    executions: int
    processes: int
    corpus_files: int
    corpus_bytes: int
    crash_files: list[str]


def write_seeds() -> None:
    for target, files in seeds().items():
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("seed-*"):
            stale.unlink()
        for name, data in files.items():
            (folder / f"seed-{name}").write_bytes(data)
        print(f"{target}: {len(files)} seed files")


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _dict_file(folder: Path) -> Path:
    def esc(token: bytes) -> str:
        return "".join(chr(b) if 0x20 <= b < 0x7F and b not in b'"\\' else f"\\x{b:02x}" for b in token)

    path = folder / "tokens.dict"
    path.write_text("".join(f'"{esc(t)}"\n' for t in TOKENS), encoding="ascii")
    return path


def _engine(target: str, flags: list[str], log: Path) -> int:
    with log.open("ab") as out:
        proc = subprocess.run([sys.executable, "-m", "tests.fuzz.engine", target, *flags], cwd=ROOT,
                              stdout=out, stderr=subprocess.STDOUT, check=False)
    return proc.returncode


def _crash_files(target: str) -> set[str]:
    return {p.name for p in CRASHES.glob(f"{target}--*")} if CRASHES.is_dir() else set()


def fuzz(target: str, seconds: float, scratch: Path, commit: str) -> Result:
    corpus = CORPUS / target
    corpus.mkdir(parents=True, exist_ok=True)
    CRASHES.mkdir(parents=True, exist_ok=True)
    work, log = _fresh(scratch / f"{target}-work"), scratch / f"{target}.log"
    before = _crash_files(target)
    flags = [f"-max_len={MAX_LEN}", f"-timeout={PER_INPUT_TIMEOUT}",
             f"-rss_limit_mb={RSS_LIMIT_MB}", f"-artifact_prefix={CRASHES}/{target}--", "-print_final_stats=1",
             "-report_slow_units=5", f"-dict={_dict_file(scratch)}"]
    started, deadline, processes = time.strftime("%Y-%m-%dT%H:%M:%S"), time.monotonic() + seconds, 0
    long_from = deadline - seconds * LONG_SHARE
    while processes < RESTARTS and (left := int(deadline - time.monotonic())) > 5:
        processes += 1
        now = time.monotonic()
        phase = [f"-len_control={LEN_CONTROL}", f"-max_total_time={int(long_from - now)}"] if now < long_from - 5 \
            else ["-len_control=0", f"-max_total_time={left}"]
        _engine(target, [*flags, *phase, str(work), str(corpus)], log)
    spent = seconds - max(0.0, deadline - time.monotonic())
    text = log.read_text(errors="replace")
    executions = sum(int(n) for n in re.findall(r"stat::number_of_executed_units:\s*(\d+)", text))
    merge(target, work, scratch, log)
    files = [p for p in corpus.iterdir() if p.is_file()]
    return Result(target, started, commit, round(spent, 1), executions, processes, len(files),
                  sum(p.stat().st_size for p in files), sorted(_crash_files(target) - before))


def merge(target: str, work: Path, scratch: Path, log: Path) -> None:
    """corpus := seeds + a set-cover minimum of (old finds + new finds) of at most KEEP_BYTES."""
    corpus, merged, pool = CORPUS / target, scratch / f"{target}-merged", scratch / f"{target}-pool"
    _fresh(merged), _fresh(pool)
    for path in corpus.iterdir():
        if path.name.startswith("seed-"):
            shutil.copy2(path, merged / path.name)
    for path in [*corpus.iterdir(), *work.iterdir()]:
        if not path.name.startswith("seed-") and path.stat().st_size <= KEEP_BYTES:
            shutil.copy2(path, pool / path.name)
    # -use_counters=0: coverage by edges only, not by how often a loop ran; keeps the corpus small
    _engine(target, ["-set_cover_merge=1", "-use_counters=0", f"-max_len={MAX_LEN}", f"-timeout={PER_INPUT_TIMEOUT}",
                     f"-rss_limit_mb={RSS_LIMIT_MB}", f"-artifact_prefix={CRASHES}/{target}--",
                     str(merged), str(pool)], log)
    for path in corpus.iterdir():
        if not path.name.startswith("seed-"):
            path.unlink()
    for path in merged.iterdir():
        if not path.name.startswith("seed-") and _passes(target, path):
            shutil.copy2(path, corpus / path.name)


def _passes(target: str, path: Path) -> bool:
    """The engine swallows a finding to go on fuzzing, so libFuzzer may keep a crashing input for
    its coverage; it is already in crashes/ (the engine wrote it), and stays out of the corpus."""
    try:
        TARGETS[target](path.read_bytes())
    except Exception:
        return False
    return True


def _commit() -> str:
    got = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                         check=False)
    return got.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, help="total fuzzing time, shared equally by the targets")
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), help="only this target (repeatable)")
    parser.add_argument("--seeds", action="store_true", help="(re)write the seed-* files of every target")
    parser.add_argument("--commit", default=None, help="commit fuzzed, for runs.jsonl (default: git HEAD here)")
    parser.add_argument("--scratch", type=Path, help="keep libFuzzer logs and work files here (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.seeds:
        write_seeds()
    if args.minutes is None:
        return 0 if args.seeds else parser.error("give --minutes N (or --seeds)")
    if os.nice(0) < 10:  # a shared machine: stay below the other work
        os.nice(10 - os.nice(0))
    names = args.target or list(TARGETS)
    share = args.minutes * 60 / len(names)
    with tempfile.TemporaryDirectory(prefix="kaigo-fuzz-") as tmp:
        scratch = args.scratch or Path(tmp)
        scratch.mkdir(parents=True, exist_ok=True)
        for name in names:
            result = fuzz(name, share, scratch, args.commit or _commit())
            with RUNS.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(asdict(result), ensure_ascii=False) + "\n")
            print(f"{name}: {result.seconds:.0f} s, {result.executions} executions in {result.processes} "
                  f"process(es), corpus {result.corpus_files} files / {result.corpus_bytes} bytes, "
                  f"new crash files: {', '.join(result.crash_files) or 'none'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
