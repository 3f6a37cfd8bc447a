"""What a worker does with the 中間サーバー on its own, now and then (chukan.toml ``[schedule]``).

Every ``refresh_seconds``: the 副本 of the persons changed since the last refresh (one refresh at
a time: while an earlier one's batches are on their way, the round is skipped). Every
``poll_seconds``: the provision requests the 中間サーバー holds for us (refused off the list,
held for a second operator when 自動応答不可, answered otherwise), decided answers not yet
acknowledged, the 転入者 income queries of 資格 acquired in the last ``income_days`` (permission
list first), and the results of submitted queries. Every ``retention_hours``: query results past
their period deleted everywhere they were kept (the PIA: 一定期間経過後に自動で削除), 提供等記録 past
theirs. The operator commands do the same on demand; this is what makes it happen unasked.

Each duty is its own round under the worker's supervisor (queues/supervisor.py): a 中間サーバー that
cannot be reached leaves the provisions and queries for the next round (their idempotency keys are
stored, so nothing is doubled), and never stops the retention run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from adapters.chukan import provision, retention, shokai, shokai_poll
from adapters.chukan.connect import client_for
from adapters.chukan.fukuhon import answer_items, today
from adapters.chukan.fukuhon_refresh import InFlight, refresh
from adapters.chukan.permits import Permits
from adapters.chukan.provision import WORKER
from bridge.app import Bridge
from queues.supervisor import Duty
from settings import ConfigError

log = logging.getLogger(__name__)
SETTLE = 5.0  # seconds after start before the first retention run
BY = WORKER
LANE = "chukan"


def purge(bridge: Bridge, *, by: str, now: datetime, dry_run: bool = False) -> retention.Purge:
    """The retention run, for the worker and for ``kaigo-bridge retention run``: the dead-letter
    queue of the route query results travel on is swept beside the store and the payload store."""
    try:
        amqp_url: str | None = bridge.config.broker.url()
    except ConfigError:
        amqp_url = None
    done = retention.run(bridge.sessions, bridge.config.chukan, bridge.payloads, by=by, now=now,
                         amqp_url=amqp_url, routes=(retention.ROUTE,), dry_run=dry_run)
    bridge.flush_custody()
    return done


def exchange(bridge: Bridge, by: str, now: datetime) -> None:
    """One round with the 中間サーバー: provisions, then income queries and their results."""
    chukan = bridge.config.chukan
    permits = Permits(chukan)
    with client_for(chukan) as client:
        report = provision.poll(bridge.sessions, client, permits, chukan, by, answer_items)
        if report.new or report.failed:
            log.info("provision requests: %d new, %d held, %d answered, %d refused, %d not sent", report.new,
                     report.held, report.sent[provision.ANSWER], report.sent[provision.REFUSE], len(report.failed))
        bridge.flush_custody()
        with bridge.sessions.begin() as s:
            made = shokai.decide_income(s, chukan, permits, nendo=shokai.nendo_of(now.date()),
                                        since=now.date() - timedelta(days=chukan.schedule.income_days), by=by,
                                        now=now)
        if made:
            log.info("income queries: %d new (refusals recorded)", len(made))
        shokai.submit(bridge.sessions, client, chukan)
        shokai_poll.poll(bridge.sessions, client, chukan, bridge.payloads, by=by, now=now)
    bridge.flush_custody()
    bridge.publish_pending()


def refresh_fukuhon(bridge: Bridge, by: str) -> None:
    """The 副本 of what changed since the last refresh, queued in batches for the chukan.fukuhon route."""
    try:
        outcome = refresh(bridge.sessions, bridge.keyring, bridge.payloads,
                          batch_size=bridge.config.chukan.fukuhon_batch_size, actor=by, everyone=False, day=today())
    except InFlight:
        return  # the earlier refresh is still being sent: this round waits for the next
    bridge.flush_custody()
    bridge.publish_pending()
    if any(outcome.counts.values()):
        log.info("副本 refresh: %s", ", ".join(f"{op} {n}" for op, n in outcome.counts.items() if n))


def duties(bridge: Bridge) -> list[Duty]:
    """The three rounds as duties of the worker's supervisor, in one lane (one client, one at a
    time, as before): the exchange every poll_seconds, the 副本 refresh every refresh_seconds,
    retention every retention_hours (the first a few seconds after start, once the worker has
    declared the queues it sweeps: a worker down for a while catches up at once). 0 turns a duty
    off. Whatever a round raises is caught, logged masked and counted by the supervisor; the next
    round (after a backoff) tries again with a new client."""
    schedule = bridge.config.chukan.schedule
    out = []
    if schedule.refresh_seconds:
        out.append(Duty("chukan.refresh", lambda _stop: refresh_fukuhon(bridge, BY),
                        every=schedule.refresh_seconds, lane=LANE))
    if schedule.retention_hours:
        out.append(Duty("chukan.retention", lambda _stop: retention_round(bridge),
                        every=schedule.retention_hours * 3600, first=SETTLE, lane=LANE))
    if schedule.poll_seconds:
        out.append(Duty("chukan.exchange", lambda _stop: exchange(bridge, BY, datetime.now(UTC)),
                        every=schedule.poll_seconds, lane=LANE))
    return out


def retention_round(bridge: Bridge) -> None:
    done = purge(bridge, by=BY, now=datetime.now(UTC))
    for problem in done.problems:
        log.warning("retention: %s", problem)
