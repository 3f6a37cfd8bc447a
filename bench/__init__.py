"""Benchmarks that time kaigo-bridge and a raw baseline in the same run, on the same broker, and
print ratios (``python -m bench``; ``./dev bench``). Absolute figures vary ±15–30 % between runs
on a shared machine; the ratios are the point."""
