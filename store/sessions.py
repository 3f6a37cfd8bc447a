"""Session factory and 個人番号 helpers of the core store.

The schema is created by ``store.schema.upgrade`` (Alembic), never by
``metadata.create_all``: one history on every backend.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from store.engine import make_engine
from store.models import Atena
from store.mynumber import MyNumberCipher


def open_store(url: str) -> sessionmaker[Session]:
    """A session factory on the store at ``url`` (engine from ``make_engine``).

    ``factory.kw["bind"]`` is the engine, for ``dispose()`` at shutdown.
    """
    return sessionmaker(bind=make_engine(url), expire_on_commit=False)


def find_by_kojin_bango(session: Session, cipher: MyNumberCipher, number: str) -> Atena | None:
    """The person with this 個人番号, found through the blind index (no decryption, no scan).

    Raises ``InvalidKojinBango`` for a malformed number before touching the database.
    """
    index = cipher.blind_index(number)
    return session.scalars(select(Atena).where(Atena.kojin_bango_index == index)).one_or_none()


def set_kojin_bango(atena: Atena, cipher: MyNumberCipher, number: str) -> None:
    """Store a 個人番号 on a person: encrypted value and blind index together."""
    atena.kojin_bango_enc, atena.kojin_bango_index = cipher.seal(number)


def reveal_kojin_bango(atena: Atena, cipher: MyNumberCipher) -> str | None:
    """Decrypt a person's 個人番号 (for a permitted use only; callers record the access)."""
    if atena.kojin_bango_enc is None:
        return None
    return cipher.decrypt(atena.kojin_bango_enc)


def rotate_kojin_bango_key(
    session_factory: sessionmaker[Session],
    old: MyNumberCipher,
    new: MyNumberCipher,
    batch: int = 1000,
) -> int:
    """Re-encrypt every stored 個人番号 from ``old``'s key to ``new``'s; returns rows changed.

    Walks the table by primary key in batches, one transaction each, so it can be stopped and
    run again: rows already under the new key id are skipped. A row under a key id that is
    neither old nor new stops the run with an error (an unknown key is never guessed at).
    """
    if old.key_id == new.key_id:
        raise ValueError(f"old and new ciphers share key id {old.key_id}: rotation needs a new key id")
    changed = 0
    after = ""
    while True:
        with session_factory.begin() as session:
            rows = session.execute(
                select(Atena.atena_no, Atena.kojin_bango_enc)
                .where(Atena.atena_no > after, Atena.kojin_bango_enc.is_not(None))
                .order_by(Atena.atena_no)
                .limit(batch)
            ).all()
            if not rows:
                return changed
            for atena_no, blob in rows:
                assert blob is not None
                if MyNumberCipher.key_id_of(blob) == new.key_id:
                    continue
                session.execute(
                    update(Atena)
                    .where(Atena.atena_no == atena_no)
                    .values(kojin_bango_enc=old.reencrypt(blob, new))
                )
                changed += 1
            after = rows[-1][0]
