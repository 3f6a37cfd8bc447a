"""What a worker's housekeeping deletes on disk: temporary payload files whose writer died, and
refused partner answers past their retention (each deletion of an answer recorded in custody)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from queues.payloads import PayloadStore
from queues.quarantine import AnswerQuarantine
from settings import Config

log = logging.getLogger(__name__)


class Installation(Protocol):
    """What tidying needs of the wiring (bridge.app.Bridge has it)."""

    @property
    def config(self) -> Config: ...
    @property
    def sessions(self) -> sessionmaker[Session]: ...
    @property
    def payloads(self) -> PayloadStore: ...
    @property
    def actor(self) -> str: ...


@dataclass
class Tidied:
    orphans: list[str] = field(default_factory=list)  # temporary files of dead writers
    expired: list[str] = field(default_factory=list)  # quarantined answers past retention


def tidy_files(bridge: Installation) -> Tidied:
    """One pass. A file error is logged and left for the next pass: tidying must never stop the
    housekeeping that calls it (custody flush, checkpoints)."""
    done = Tidied()
    try:
        answers = AnswerQuarantine.of(bridge.config, bridge.payloads)
        done.orphans = bridge.payloads.sweep_orphans() + answers.store.sweep_orphans()
        done.expired = answers.expire(bridge.sessions, bridge.config.quarantine_days, bridge.actor)
    except OSError as exc:
        log.warning("housekeeping: tidying files failed (%s); trying again next time",
                    exc.strerror or type(exc).__name__)
    if done.orphans or done.expired:
        log.info("housekeeping: %d orphan temporary file(s) deleted, %d quarantined answer(s) past retention "
                 "deleted", len(done.orphans), len(done.expired))
    return done
