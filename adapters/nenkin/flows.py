"""The 年金特徴 outbound batch flows (Z12 依頼, Z1A notices): record sources and file frames, by flow name."""

from __future__ import annotations

from adapters.nenkin import z1a, z1a_sent, z12, z12_sent
from queues.flow_source import FlowSource

SOURCES: dict[str, FlowSource] = {
    # The July 特別徴収依頼 (Z12) of a 年度: the 本徴収 依頼 decided, then one file per 特別徴収義務者
    # (adapters/nenkin/z12.py); the 依頼 in the files recorded sent (z12_sent.py).
    "nenkin.z12": FlowSource(count=z12.count, records=z12.records, plan=z12.plan, encode=z12.encoder,
                             before=lambda b: z12_sent.record_sent(b.sessions, b.payloads), after=z12_sent.after),
    # The monthly 追加依頼 (31), 資格喪失等 (41), 仮徴収額変更 (61) and 住所地特例該当者 (81) notices of
    # a 処理対象年月 (adapters/nenkin/z1a.py): one file per 特別徴収義務者 and 通知内容コード, made as
    # the Z12s are; 31/61-依頼 recorded sent, the 依頼 a 41 stops stopped, the 41/81 kept as notices
    # for their answers, from the stored files (z1a_sent.py).
    "nenkin.z1a": FlowSource(count=z1a.count, records=z1a.records, plan=z1a.plan, encode=z12.encoder,
                             period="month", before=lambda b: z1a_sent.record_sent(b.sessions, b.payloads),
                             after=z1a.after),
}
