"""``python -m bench [--smoke] [--events N] [--people N] [--kyufu-records N] [--nenkin-records N] [--only NAME ...]``

Uses the broker in KAIGO_AMQP_URL / KAIGO_RABBIT_API (``./dev bench`` exports them) or starts its
own RabbitMQ node; works in a fresh vhost and a throw-away installation either way. Progress goes to
stderr, rows to stdout. ``--smoke`` runs every row at a tiny size (seconds each) and exits 1 if a row
errs or prints no figure: the test suite runs it, so a row cannot rot unseen.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
import traceback

from rich.console import Console

from bench import broker as broker_module
from bench.install import installation
from bench.lab import SMOKE, Lab, Sizes
from bench.report import Row, json_lines, table
from bench.rows import ROWS

CAPTION = ("ratio = ours / baseline (for a time or a size, above 1 is worse). Broker baselines: raw pika with "
           "pipelined confirms, one quorum queue, bodies of ours' measured size, same broker and N. "
           "Peak RSS: the process that ran ours. How to read a row: bench/README.md.")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[2].strip())
    parser.add_argument("--smoke", action="store_true",
                        help="every row at a tiny size: proves each runs and prints a figure (figures mean nothing)")
    parser.add_argument("--events", type=int, help=f"events/messages per measurement ({Sizes.events:,})")
    parser.add_argument("--people", type=int,
                        help=f"people in the print run's and 副本 refresh's population ({Sizes.people:,}; "
                             "rss_flatness also runs a tenth)")
    parser.add_argument("--kyufu-records", type=int,
                        help=f"records in the 給付実績 file ({Sizes.kyufu_records:,}; rss_flatness also loads a tenth)")
    parser.add_argument("--nenkin-records", type=int,
                        help=f"records in the Z11 of the 年金特徴 rows ({Sizes.nenkin_records:,})")
    parser.add_argument("--only", action="append", metavar="NAME", choices=list(ROWS),
                        help=f"run only this row (repeatable): {', '.join(ROWS)}")
    parser.add_argument("--json", action="store_true", help="one JSON object per row and line")
    parser.add_argument("--keep", action="store_true", help="keep the temporary installation (its path is logged)")
    args = parser.parse_args(argv)
    base = SMOKE if args.smoke else Sizes()
    args.sizes = dataclasses.replace(base, **{k: v for k in ("events", "people", "kyufu_records", "nenkin_records")
                                              if (v := getattr(args, k)) is not None})
    if (args.sizes.events < 1 or args.sizes.people < 10 or args.sizes.kyufu_records < 30
            or args.sizes.nenkin_records < 10):
        parser.error("--events must be at least 1, --people at least 10, --kyufu-records at least 30 and "
                     "--nenkin-records at least 10")
    return args


def _broken(r: Row) -> bool:
    return not math.isfinite(r.value) or (r.baseline_value is not None and not math.isfinite(r.baseline_value))


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    progress = Console(stderr=True)
    started = time.monotonic()

    def log(text: str) -> None:
        progress.print(f"[dim]{time.monotonic() - started:6.1f}s[/] {text}", highlight=False)

    names = [name for name in ROWS if args.only is None or name in args.only]
    with (broker_module.node(log) as (amqp_url, api_url),
          broker_module.fresh_vhost(amqp_url, api_url) as broker,
          installation(broker, keep=args.keep) as home):
        log(f"vhost {broker.vhost}; installation {home.root}")
        lab = Lab(broker, home, args.sizes, log)
        rows, failed = [], []
        for name in names:
            # A row that errs is named and the others still run: one rotten row must not hide the rest.
            try:
                rows.append(ROWS[name](lab))
            except Exception:
                failed.append(name)
                log(f"[red]row {name} failed:[/]\n{traceback.format_exc()}")
    failed += [r.name for r in rows if _broken(r)]
    log(f"done in {time.monotonic() - started:.0f} s")
    if args.json:
        sys.stdout.write(json_lines(rows))
    else:
        out = Console()
        if not out.is_terminal:
            out = Console(width=160)  # a log file, not an 80-column default
        out.print(table(rows, title=f"kaigo-bridge benchmarks, {args.sizes.events:,} events each", caption=CAPTION))
    if failed:
        log(f"[red]rows that failed or printed no figure: {', '.join(failed)}[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
