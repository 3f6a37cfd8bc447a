"""Every parser, on the fuzz corpus and on fresh mutations of it, yields only its record types.

fixtures/fuzz/corpus/<target>/ holds the seeds (valid files rendered from each layout, the unit
tests' malformed examples) and what atheris found (tests/fuzz/README.md); fixtures/fuzz/crashes/
holds inputs that once broke a parser, each kept as a regression test. A target raises the
parser's exception or tests.fuzz.targets.BadOutcome on a broken contract, so a test here only has
to call it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import mutate
from tests.fuzz.targets import TARGETS

FUZZ = Path(__file__).resolve().parents[2] / "fixtures" / "fuzz"
CORPUS, CRASHES = FUZZ / "corpus", FUZZ / "crashes"
CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.is_file())
# libFuzzer artifacts (<target>--timeout-…, --oom-…, --slow-unit-…) and the engine's <target>--<sig>.bin
CRASH_FILES = sorted(p for p in CRASHES.glob("*--*") if p.is_file() and p.suffix != ".txt")
REPLAY = [(p.parent.name, p) for p in CORPUS_FILES] + [(p.name.split("--")[0], p) for p in CRASH_FILES]


def test_every_target_has_a_corpus_and_every_corpus_a_target() -> None:
    folders = {p.name for p in CORPUS.iterdir() if p.is_dir()}
    assert folders == set(TARGETS)
    for name in TARGETS:
        assert any((CORPUS / name).glob("seed-*")), f"no seed files for {name}"


def test_corpus_stays_small() -> None:
    assert len(CORPUS_FILES) <= 500
    big = [p.name for p in CORPUS_FILES if p.stat().st_size > 16_384]
    assert not big


@pytest.mark.parametrize(("target", "path"), REPLAY, ids=[f"{p.parent.name}/{p.name}" for _, p in REPLAY])
def test_replay(target: str, path: Path) -> None:
    TARGETS[target](path.read_bytes())


@cache
def _seeds(target: str) -> tuple[bytes, ...]:
    return tuple(p.read_bytes() for p in sorted((CORPUS / target).glob("seed-*")))


OPS = st.lists(st.tuples(st.sampled_from(mutate.OPS), st.integers(0, 1 << 20), st.integers(0, 1 << 12),
                         st.integers(0, 1 << 10)), min_size=1, max_size=4)


@pytest.mark.parametrize("target", sorted(TARGETS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 1 << 10), ops=OPS)
def test_mutated_seed(target: str, which: int, ops: list[mutate.Op]) -> None:
    seeds = _seeds(target)
    TARGETS[target](mutate.apply(seeds[which % len(seeds)], ops, seeds, limit=1 << 14))
