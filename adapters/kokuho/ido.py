"""受給者異動連絡票 (5311): which 異動 a person's state makes, given what the 国保連 already has.

A 5311 record is a snapshot of one 受給者 as of its 異動年月日: 資格, the 認定 (区分 and 有効期間),
and each effective-dated item with its own period (居宅サービス計画, 支給限度額, 負担限度額, 二割負担).
``decide`` compares the person's current ``State`` with the records the partner was sent
(``Reported``, oldest first) and returns what to send:

- 新規 (1, 事由 01 受給資格取得): nothing sent yet, or the last record sent was a 終了; 異動年月日 =
  the start of the 受給 (the later of 資格取得 and the 認定's start).
- 終了 (3, 事由 02 受給資格喪失): the partner has the person as a 受給者 and the 資格 was lost
  (異動年月日 = 資格喪失年月日) or the 認定 ran out unrenewed (the day after its end). A person
  never sent, or already ended, gets nothing.
- 変更 (2, 事由 99 その他異動): values differ from the last record sent and the change takes
  effect after its 異動年月日: 異動年月日 = the newest start among the items that changed (an
  item that disappeared: the day after its old end).
- 訂正 修正 (訂正区分 2): values differ but no changed item starts after the last record's
  異動年月日 — the record sent was wrong, not outdated (e.g. a 認定 corrected in place).
- 訂正 削除 (訂正区分 3): the partner has the person as a 受給者 but no 認定 with a level exists
  any more (entered in error and removed): every record of the current spell is withdrawn.

[INF] These rules are our reading of the 受給者IF code tables (LAYOUTS-EVIDENCE.md §5); the
national interface specification is not public. 訂正 records travel in the 受給者訂正連絡票
exchange (データ種別 532, 交換情報識別番号 5321, with 訂正年月日 and 訂正区分コード 2 修正 / 3 削除:
the vendor's JukyushaTeiseiRenrakuhyoCsvDataEntity and JukyushaIF_TeiseiKubunCode), not in 5311:
they are kept pending by the kokuho.ido run and sent by kokuho.teisei (ido_teisei.py). Once sent,
a 訂正 is part of what the partner has (``_spell``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

SHINKI, HENKO, SHURYO = "1", "2", "3"  # 異動区分コード
SHUSEI, SAKUJO = "2", "3"  # 訂正区分コード
JIYU_SHUTOKU, JIYU_SOSHITSU, JIYU_SONOTA = "01", "02", "99"  # 異動事由

# 5311 columns that identify the person: sent, but never kept in the store's record of what was sent.
PERSONAL = ("hihokensha_no", "name_kana", "birth_ymd", "seibetsu")
# Columns of the record itself, not of the person's state (5311, and 5321's own: レコード種別コード,
# 訂正年月日, 訂正区分コード).
OWN = ("record_type", "record_no", "exchange_id", "ido_ymd", "ido_kubun", "blank", "record_code", "teisei_ymd",
       "teisei_kubun")


@dataclass(frozen=True)
class Group:
    """Columns that change together, and where their period starts and ends."""

    fields: tuple[str, ...]
    start: str
    end: str | None


GROUPS = {
    "shikaku": Group(("sho_hokensha_no", "shikaku_shutoku_ymd", "shikaku_soshitsu_ymd"),
                     "shikaku_shutoku_ymd", None),
    "nintei": Group(("shinsei_shubetsu", "shinsei_ymd", "yokaigo_jotai_kubun", "nintei_start_ymd", "nintei_end_ymd"),
                    "nintei_start_ymd", "nintei_end_ymd"),
    "keikaku": Group(("keikaku_sakusei_kubun", "kyotaku_shien_jigyosho_no", "keikaku_start_ymd", "keikaku_end_ymd"),
                     "keikaku_start_ymd", "keikaku_end_ymd"),
    "gendo": Group(("homon_gendo_gaku", "homon_kanri_start_ymd", "homon_kanri_end_ymd"),
                   "homon_kanri_start_ymd", "homon_kanri_end_ymd"),
    "tokutei": Group(("shokuhi_gendo_gaku", "kyojuhi_unit_koshitsu", "kyojuhi_unit_junkoshitsu",
                      "kyojuhi_jurai_koshitsu_tokuyo", "kyojuhi_jurai_koshitsu_roken", "kyojuhi_tashoshitsu",
                      "tokutei_start_ymd", "tokutei_end_ymd"), "tokutei_start_ymd", "tokutei_end_ymd"),
    "niwari": Group(("niwari_start_ymd", "niwari_end_ymd"), "niwari_start_ymd", "niwari_end_ymd"),
}


def text(value: Any) -> str:
    """A value as the comparison (and the store) holds it: dates YYYYMMDD, None empty."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    return str(value)


def _day(value: str) -> date | None:
    return date(int(value[:4]), int(value[4:6]), int(value[6:8])) if len(value) == 8 else None


def kept_values(record: Mapping[str, Any]) -> dict[str, str]:
    """The columns of a sent record the store keeps (no person-identifying ones), as text."""
    return {k: text(v) for k, v in record.items() if k not in PERSONAL and k not in OWN and text(v) != ""}


def kept_json(record: Mapping[str, Any]) -> str:
    return json.dumps(kept_values(record), ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class State:
    """A person as the store has them now, in 5311 column names (``values``, without the
    record's own columns)."""

    hihokensha_no: str
    values: Mapping[str, Any]
    jukyu_from: date | None  # start of the 受給; None: no 認定 with a level
    ended: tuple[date, str] | None = None  # (異動年月日, 異動事由) once the 受給 has ended


@dataclass(frozen=True)
class Reported:
    """One record the partner was sent (its kept columns as text); ``teisei_kubun`` set: a 訂正
    sent (5321) of the record with this 異動年月日 — 修正 with the corrected values, 削除."""

    ido_ymd: date
    ido_kubun: str
    values: Mapping[str, str]
    teisei_kubun: str | None = None

    @property
    def jiyu(self) -> str:
        return self.values.get("ido_jiyu", "")


@dataclass(frozen=True)
class Ido:
    """One 異動 to send; ``teisei_kubun`` set: a 訂正 of the record sent with this 異動年月日."""

    ido_kubun: str
    ido_ymd: date
    ido_jiyu: str
    teisei_kubun: str | None = None


def _spell(reported: Sequence[Reported]) -> list[Reported]:
    """The records since the last 終了 (the partner's current 受給 of the person), as the 訂正
    sent have left them: a 修正 takes the place of the record it corrects, a 削除 removes it."""
    spell: list[Reported] = []
    for r in reported:
        if r.teisei_kubun == SAKUJO:
            spell = [s for s in spell if s.ido_ymd != r.ido_ymd]
        elif r.teisei_kubun == SHUSEI:
            at = [i for i, s in enumerate(spell) if s.ido_ymd == r.ido_ymd]
            corrected = Reported(r.ido_ymd, r.ido_kubun, r.values)
            spell = [*spell[:at[-1]], corrected, *spell[at[-1] + 1:]] if at else [*spell, corrected]
        else:
            spell = [] if r.ido_kubun == SHURYO else [*spell, r]
    return spell


def _changed_on(group: Group, state: State, last: Reported) -> date:
    new = state.values.get(group.start)
    if isinstance(new, date):
        return new
    old_end = _day(last.values.get(group.end, "")) if group.end else None
    return old_end + timedelta(days=1) if old_end is not None else date.min


def decide(state: State, reported: Sequence[Reported], person_changed_on: date | None = None) -> list[Ido]:
    """The 異動 to send for ``state``; ``reported`` oldest first. ``person_changed_on``: the day
    a change of 氏名/生年月日/性別 was recorded (those columns are not kept to compare)."""
    spell = _spell(reported)
    if state.ended is not None:
        ended_on, jiyu = state.ended
        return [Ido(SHURYO, ended_on, jiyu)] if spell else []
    if state.jukyu_from is None:
        return [Ido(r.ido_kubun, r.ido_ymd, r.jiyu, SAKUJO) for r in spell]
    if not spell:
        return [Ido(SHINKI, state.jukyu_from, JIYU_SHUTOKU)]
    last = spell[-1]
    days = [_changed_on(g, state, last) for g in GROUPS.values()
            if any(text(state.values.get(f)) != last.values.get(f, "") for f in g.fields)]
    if person_changed_on is not None:
        days.append(person_changed_on)
    if not days:
        return []
    newest = max(days)
    if newest > last.ido_ymd:
        return [Ido(HENKO, newest, JIYU_SONOTA)]
    return [Ido(last.ido_kubun, last.ido_ymd, last.jiyu, SHUSEI)]


def record(state: State, ido: Ido) -> dict[str, Any]:
    """The 5311 record (layout field names) of one 異動."""
    return {**state.values, "hihokensha_no": state.hihokensha_no, "ido_ymd": ido.ido_ymd,
            "ido_kubun": ido.ido_kubun, "ido_jiyu": ido.ido_jiyu}
