"""``python -m bench [--events N] [--people N] [--kyufu-records N] [--only NAME ...] [--json] [--keep]``

Uses the broker in KAIGO_AMQP_URL / KAIGO_RABBIT_API (``./dev bench`` exports them) or starts its
own RabbitMQ node; works in a fresh vhost and a throw-away installation either way. Progress goes to
stderr, rows to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time

from rich.console import Console

from bench import broker as broker_module
from bench.install import installation
from bench.report import json_lines, table
from bench.rows import ROWS, Lab

CAPTION = ("ratio = ours / baseline. Broker baselines: raw pika BlockingConnection, one quorum queue, "
           "1 KiB persistent bodies, same broker and N. Peak RSS: the process that ran ours.")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[2].strip())
    parser.add_argument("--events", type=int, default=50_000, help="events/messages per measurement (50,000)")
    parser.add_argument("--people", type=int, default=200_000,
                        help="people in the print run's population (200,000; rss_flatness also runs a tenth)")
    parser.add_argument("--kyufu-records", type=int, default=1_000_000,
                        help="records in the 給付実績 file (1,000,000; rss_flatness also loads a tenth)")
    parser.add_argument("--only", action="append", metavar="NAME", choices=list(ROWS),
                        help=f"run only this row (repeatable): {', '.join(ROWS)}")
    parser.add_argument("--json", action="store_true", help="one JSON object per row and line")
    parser.add_argument("--keep", action="store_true", help="keep the temporary installation (its path is logged)")
    args = parser.parse_args(argv)
    if args.events < 1 or args.people < 10 or args.kyufu_records < 30:
        parser.error("--events must be at least 1, --people at least 10 and --kyufu-records at least 30")
    return args


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
        lab = Lab(broker, home, args.events, log, args.people, args.kyufu_records)
        rows = [ROWS[name](lab) for name in names]
    log(f"done in {time.monotonic() - started:.0f} s")
    if args.json:
        sys.stdout.write(json_lines(rows))
    else:
        out = Console()
        if not out.is_terminal:
            out = Console(width=160)  # a log file, not an 80-column default
        out.print(table(rows, title=f"kaigo-bridge benchmarks, {args.events:,} events each", caption=CAPTION))
    return 0


if __name__ == "__main__":
    sys.exit(main())
