"""The rows a run can print, by name: each reads its figures from the run's ``Lab`` (bench/lab.py)."""

from __future__ import annotations

from collections.abc import Callable

from bench import chukan_fukuhon, kyufu_load, nenkin_parse, nenkin_z11_z12, print_run, transfer_io
from bench.lab import Lab
from bench.report import Row, ratio_at_least, row
from queues.publisher import WINDOW

EVENTS_PER_S = "events/s, higher better"
MSGS_PER_S = "msgs/s, higher better"


def outbox_write_row(lab: Lab) -> Row:
    """Both UPDATE the chosen 資格 rows and insert their sealed events, 1000 per committed
    transaction; ours through ``change_shikaku`` (``announce_many``: the batch's rows as tuples in
    one executemany), raw sqlite3 through one UPDATE and one executemany."""
    ours, rss = lab.outbox
    raw = lab.outbox_baseline
    return row("outbox.write", lab.events / ours["seconds"], EVENTS_PER_S,
               "sqlite3: same UPDATE + same sealed rows, executemany, 1000/tx",
               lab.events / raw["seconds"], ratio_at_least(0.5), rss)


def _path_rate(lab: Lab) -> float:
    return lab.events / float(lab.message_path["seconds"])


def message_path_row(lab: Lab) -> Row:
    """Both publish N messages of the same size with the same confirm window into a quorum queue
    from one process while a consumer in another, with the same prefetch, acks them in batches,
    clock to the last ack; ours' publisher (the relay) also claims them from the outbox and marks
    them sent, and its consumer (the worker) decrypts each, commits it to the journal + inbox +
    custody before the ack and moves custody to the log."""
    rate = _path_rate(lab)
    raw, _ = lab.raw_pipeline
    return row("message_path", rate, EVENTS_PER_S,
               f"pika: {WINDOW} confirms in flight + consumer acking in batches, same bodies",
               lab.events / raw["seconds"], ratio_at_least(0.5), lab.message_path["peak_rss_mb"])


def message_path_ceiling(lab: Lab) -> Row:
    """Ours as in ``message_path`` against raw pika only publishing the same messages, no
    confirms and no consumer: what the client and broker can take at most (information)."""
    rate = _path_rate(lab)
    raw, _ = lab.no_confirm
    return row("message_path.ceiling", rate, EVENTS_PER_S,
               "pika publish, no confirms, no consumer, same bodies",
               lab.events / raw["publish_s"], None, lab.message_path["peak_rss_mb"])


def publisher_pipelined(lab: Lab) -> Row:
    """Both publish the same messages into a quorum queue with up to 1000 unconfirmed, clock to
    the last confirm; ours in the relay's batches of 5000 (each waits for its last confirms, and
    sends on when a quarter of the window is confirmed), raw pika slides its window one confirm at a time."""
    ours, rss = lab.pipelined
    raw, _ = lab.raw_pipelined
    return row("publisher.pipelined", lab.events / ours["publish_s"], MSGS_PER_S,
               f"pika SelectConnection, {WINDOW} confirms in flight, same bodies",
               lab.events / raw["publish_s"], ratio_at_least(0.9), rss)


ROWS: dict[str, Callable[[Lab], Row]] = {
    "outbox.write": outbox_write_row,
    "message_path": message_path_row,
    "message_path.ceiling": message_path_ceiling,
    "publisher.pipelined": publisher_pipelined,
    "sftp.upload": transfer_io.sftp_upload,
    "sftp.download": transfer_io.sftp_download,
    "pgp.encrypt_sign": transfer_io.pgp_encrypt_sign_row,
    "print_run": print_run.print_run_row,
    "print_run.rss_flatness": print_run.rss_flatness_row,
    "kyufu.parse": lambda lab: kyufu_load.parse_row(lab.kyufu),
    "kyufu.parse_validate": lambda lab: kyufu_load.parse_validate_row(lab.kyufu),
    "kyufu.apply": lambda lab: kyufu_load.apply_row(lab.kyufu),
    "kyufu.load": lambda lab: kyufu_load.load_row(lab.kyufu),
    "kyufu.rss_flatness": lambda lab: kyufu_load.rss_row(lab.kyufu),
    "nenkin.parse": lambda lab: nenkin_parse.parse_row(lab.nenkin),
    "nenkin.render": lambda lab: nenkin_parse.render_row(lab.nenkin),
    "nenkin.z11_z12": lambda lab: nenkin_z11_z12.z11_z12_row(lab.nenkin_year),
    "nenkin.rss_flatness": lambda lab: nenkin_z11_z12.rss_row(lab.nenkin_year),
    "chukan.fukuhon": lambda lab: chukan_fukuhon.fukuhon_row(lab.fukuhon),
    "chukan.fukuhon.our_share": lambda lab: chukan_fukuhon.share_row(lab.fukuhon),
}
