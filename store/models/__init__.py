"""Models of the core store (SQLAlchemy 2.0 typed declarative, one ``Base``).

Business tables (標準準拠 side): atena, shikaku, fuka, fuka_kibetsu, nintei, 受給者 data
(futan_wariai, shikyu_gendogaku, kyotaku_keikaku, futan_gendogaku) and 給付実績 from the 国保連
(kyufu_jisseki, kyufu_meisai, kyufu_shukei).
Runtime tables (the bridge's own): outbox, inbox, transfer, change_journal, custody_pending, run_lock, handover,
quarantine; what the 国保連 was sent of 受給者異動 (kokuho_ido, kokuho_ido_file) and the 突合結果
it returned (totsugo_kekka).
特別徴収 with the 年金保険者 (tokucho_taisho, tokucho_irai, tokucho_kekka) and 収納 (shuno).
情報照会 through the 中間サーバー (shokai) and the income applied for 賦課 (shotoku).
The 情報提供等記録 (teikyo_kiroku), provision requests seen (chukan_provision) and their approvals
(chukan_approval). The 副本 the 中間サーバー holds (fukuhon_state).
Print vendors' answers as judged (vendor_answer), the notices each hand-over carried
(handover_notice) and those that came back (handover_return).
"""

from store.models.atena import Atena, Shikaku
from store.models.base import NAMING_CONVENTION, Base, UtcDateTime, utcnow
from store.models.chukan import ChukanApproval, ChukanProvision, TeikyoKiroku
from store.models.fuka import FUTSUCHO, TOKUCHO, Fuka, FukaKibetsu
from store.models.fukuhon import FukuhonState
from store.models.handover import Handover
from store.models.jukyusha import FutanGendogaku, FutanWariai, KyotakuKeikaku, ShikyuGendogaku
from store.models.kokuho_ido import KokuhoIdo, KokuhoIdoFile
from store.models.kyufu import KyufuJisseki, KyufuMeisai, KyufuShukei
from store.models.nintei import Nintei
from store.models.quarantine import Quarantine
from store.models.runtime import ChangeJournal, CustodyPending, Inbox, Outbox, RunLock, Transfer
from store.models.shokai import Shokai, Shotoku
from store.models.tokucho import Shuno, TokuchoIrai, TokuchoKekka, TokuchoTaisho
from store.models.totsugo import TotsugoKekka
from store.models.vendor_answer import HandoverNotice, HandoverReturn, VendorAnswer

__all__ = [
    "FUTSUCHO",
    "NAMING_CONVENTION",
    "TOKUCHO",
    "Atena",
    "Base",
    "ChangeJournal",
    "ChukanApproval",
    "ChukanProvision",
    "CustodyPending",
    "Fuka",
    "FukaKibetsu",
    "FukuhonState",
    "FutanGendogaku",
    "FutanWariai",
    "Handover",
    "HandoverNotice",
    "HandoverReturn",
    "Inbox",
    "KokuhoIdo",
    "KokuhoIdoFile",
    "KyotakuKeikaku",
    "KyufuJisseki",
    "KyufuMeisai",
    "KyufuShukei",
    "Nintei",
    "Outbox",
    "Quarantine",
    "RunLock",
    "Shikaku",
    "ShikyuGendogaku",
    "Shokai",
    "Shotoku",
    "Shuno",
    "TeikyoKiroku",
    "TokuchoIrai",
    "TokuchoKekka",
    "TokuchoTaisho",
    "TotsugoKekka",
    "Transfer",
    "UtcDateTime",
    "VendorAnswer",
    "utcnow",
]
