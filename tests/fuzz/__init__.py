"""Fuzzing the parsers (issue 4): targets, mutations, seeds, the atheris engine and its runner.

See tests/fuzz/README.md; the corpus is replayed by tests/unit/test_fuzz_corpus.py.
"""
