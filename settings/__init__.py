"""Configuration: config/*.toml loaded into frozen dataclasses (a low layer: queues and the
adapters read it; it imports only mappings and store).

Every problem is collected and reported at once (file, key, reason) rather than one per run,
so an operator fixes a broken configuration in one pass. Secrets never live in these files:
only the name of the environment variable or key file that holds them.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from settings.chukan import ChukanConfig, chukan_config
from settings.nenkin import NenkinCalendar, nenkin_calendar
from settings.partners import PartnerConfig, SftpChannel, partners
from settings.reader import ConfigError, Reader, config_file, each, read_files, unknown_keys
from store.identifiers import InvalidIdentifier, validate_hokensha_no

__all__ = ["BrokerConfig", "Config", "ConfigError", "FlowConfig", "NenkinCalendar", "PartnerConfig", "RouteConfig",
           "SftpChannel", "default_config_dir", "load"]

DIRECTIONS = ("out", "in")
# Today's name for every flow that sets none (the print flows): the transfer id.
DEFAULT_NAME = "{transfer}.csv"
NAME_PLACEHOLDERS = ("transfer", "flow", "period", "month", "edition", "file_no", "part", "hokensha_no")
_NAME_SAMPLE = {"transfer": "t", "flow": "f", "period": "202604", "month": "202604", "edition": 1, "file_no": 1,
                "part": 1, "hokensha_no": "131128"}


def name_pattern_problem(pattern: str) -> str | None:
    """What is wrong with a ``file_name`` pattern (str.format of NAME_PLACEHOLDERS), or None."""
    try:
        fields = {f for _t, f, _s, _c in string.Formatter().parse(pattern) if f is not None}
        unknown = sorted(fields - set(NAME_PLACEHOLDERS))
        sample = "" if unknown else pattern.format_map(_NAME_SAMPLE)
    except (ValueError, KeyError, IndexError) as exc:
        return f"{pattern!r} is not a valid pattern ({exc})"
    if unknown:
        return f"unknown placeholder(s) {unknown} (known: {', '.join(NAME_PLACEHOLDERS)})"
    if not sample or "/" in sample or "\\" in sample or sample.startswith("."):
        return f"{pattern!r} must give a plain file name (no '/', not starting with '.')"
    return None


@dataclass(frozen=True)
class BrokerConfig:
    url_env: str
    management_url_env: str
    exchange: str
    heartbeat: int

    def url(self) -> str:
        return _env("broker.url_env", self.url_env)

    def management_url(self) -> str:
        return _env("broker.management_url_env", self.management_url_env)


def _env(key: str, name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigError([f"bridge.toml: {key}: environment variable {name} is not set"])
    return value


@dataclass(frozen=True)
class RouteConfig:
    name: str
    handler: str
    retry_delays: tuple[int, ...]
    delivery_limit: int
    prefetch: int
    batch_size: int


@dataclass(frozen=True)
class FlowConfig:
    name: str
    description: str
    partner: str
    direction: str
    layout: str
    layout_version: int
    route: str
    part_size: int
    substitutions: Path | None
    done_marker: str  # inbound: a file is complete when <name><done_marker> is beside it
    folder: str  # inbound: the sub-folder of the partner's drop folder or SFTP root it arrives in
    file_name: str  # outbound: the delivered name, a pattern of NAME_PLACEHOLDERS (adapters/delivery.py)
    settle_seconds: float  # inbound: its size must hold still this long
    max_bytes: int = 1 << 30  # inbound: a larger file is refused and reported, never read


@dataclass(frozen=True)
class Config:
    config_dir: Path
    var: Path
    store_url: str
    custody_url: str
    custody_signing_key: Path
    access_url: str  # the access log (who logged in, what they read or changed): its own database
    checkpoint_interval: int
    hokensha_no: str  # the ward's own 保険者番号, in every exchange with the 国保連
    shichoson_code: str  # 市町村コード (5 digits), in every 年金特徴 file
    broker: BrokerConfig
    keys_dir: Path
    payloads_dir: Path
    openpgp_home: Path
    openpgp_passphrase_env: str | None
    spool_dir: Path
    quarantine_days: int  # refused partner answers kept (encrypted) this long, then deleted
    routes: dict[str, RouteConfig]
    partners: dict[str, PartnerConfig]
    flows: dict[str, FlowConfig]
    nenkin: NenkinCalendar  # the 年金特徴 calendar (nenkin.toml)
    chukan: ChukanConfig  # the 中間サーバー and the permission list (chukan.toml, permissions.csv)

    def route(self, name: str) -> RouteConfig:
        try:
            return self.routes[name]
        except KeyError:
            raise ConfigError([f"routes.toml: no route named {name!r}"]) from None

    def flow(self, name: str) -> FlowConfig:
        try:
            return self.flows[name]
        except KeyError:
            raise ConfigError([f"flows.toml: no flow named {name!r} (known: {', '.join(self.flows)})"]) from None


def default_config_dir() -> Path:
    return Path(os.environ.get("KAIGO_CONFIG", "config")).resolve()


def load(config_dir: Path | None = None, strict: bool = False) -> Config:
    """The configuration, or ConfigError with every problem. ``strict`` (what `config check` judges)
    adds what a command is not refused for: keys no loader reads, and each partner's channel
    settings (a command needs those only when it talks to that partner: PartnerConfig.require)."""
    config_dir = (config_dir or default_config_dir()).resolve()
    raw, problems = read_files(config_dir)
    main = raw.get("bridge.toml", {})
    var_setting = main.get("paths", {}).get("var", "var")
    var = Path(os.environ.get("KAIGO_VAR") or (config_dir.parent / str(var_setting))).resolve()
    r = Reader(str(var), config_dir)
    r.problems.extend(problems)

    broker = BrokerConfig(
        url_env=r.get(main, "bridge.toml", "broker.url_env", str),
        management_url_env=r.get(main, "bridge.toml", "broker.management_url_env", str),
        exchange=r.get(main, "bridge.toml", "broker.exchange", str),
        heartbeat=r.get(main, "bridge.toml", "broker.heartbeat", int, 30),
    )
    routes = _routes(r, raw.get("routes.toml", {}))
    partner_map = partners(r, raw.get("partners.toml", {}), config_dir)
    flows = _flows(r, raw.get("flows.toml", {}), routes, partner_map)
    nenkin = (nenkin_calendar(r, raw["nenkin.toml"], {f.name: f.direction for f in flows.values()})
              if "nenkin.toml" in raw else NenkinCalendar({}, ()))  # a missing file is reported already
    chukan = chukan_config(r, raw.get("chukan.toml", {}))
    config = Config(
        config_dir=config_dir,
        var=var,
        store_url=r.get(main, "bridge.toml", "store.url", str),
        custody_url=r.get(main, "bridge.toml", "custody.url", str),
        custody_signing_key=r.path(main, "bridge.toml", "custody.signing_key"),
        access_url=r.get(main, "bridge.toml", "access.url", str, f"sqlite:///{r.var}/access.db"),
        checkpoint_interval=r.get(main, "bridge.toml", "custody.checkpoint_interval", int, 5),
        hokensha_no=_hokensha_no(r, main),
        shichoson_code=_shichoson_code(r, main),
        broker=broker,
        keys_dir=r.path(main, "bridge.toml", "keys.dir"),
        payloads_dir=r.path(main, "bridge.toml", "payloads.dir"),
        openpgp_home=r.path(main, "bridge.toml", "openpgp.home"),
        openpgp_passphrase_env=r.get(main, "bridge.toml", "openpgp.passphrase_env", str, "") or None,
        spool_dir=r.path(main, "bridge.toml", "openpgp.spool"),
        quarantine_days=r.get(main, "bridge.toml", "quarantine.retention_days", int, 90),
        routes=routes,
        partners=partner_map,
        flows=flows,
        nenkin=nenkin,
        chukan=chukan,
    )
    r.check(config.store_url != config.custody_url, "bridge.toml", "custody.url",
            "must differ from store.url (the custody log is a separate database)")
    r.check(config.access_url not in (config.store_url, config.custody_url), "bridge.toml", "access.url",
            "must differ from store.url and custody.url (the access log is a separate database)")
    if strict:
        r.problems.extend(p for partner in partner_map.values() for p in partner.problems)
        r.problems.extend(unknown_keys(raw))
    if r.problems:
        raise ConfigError(r.problems)
    return config


def _hokensha_no(r: Reader, main: dict[str, Any]) -> str:
    value = r.get(main, "bridge.toml", "ward.hokensha_no", str)
    try:
        return validate_hokensha_no(value)
    except InvalidIdentifier as exc:
        r.check(False, "bridge.toml", "ward.hokensha_no", str(exc))
        return value


def _shichoson_code(r: Reader, main: dict[str, Any]) -> str:
    value = r.get(main, "bridge.toml", "ward.shichoson_code", str)
    r.check(len(value) == 5 and value.isascii() and value.isdigit(), "bridge.toml", "ward.shichoson_code",
            "must be the 5-digit 市町村コード (全国地方公共団体コード without its check digit)")
    return value


def _routes(r: Reader, raw: dict[str, Any]) -> dict[str, RouteConfig]:
    f = "routes.toml"
    out: dict[str, RouteConfig] = {}
    entries = raw.get("route", [])
    for i, table in enumerate(entries if isinstance(entries, list) else []):
        key = f"route[{i}]"
        if not isinstance(table, dict) or not isinstance(table.get("name"), str) or not table["name"]:
            r.problems.append(f"{f}: {key}.name: missing")
            continue
        name = table["name"]
        w = f"{key}."
        delays = table.get("retry_delays", [])
        r.check(isinstance(delays, list) and bool(delays) and all(isinstance(d, int) and d > 0 for d in delays),
                f, f"{key}.retry_delays", "must be a non-empty list of positive whole seconds")
        r.check(name not in out, f, f"{key}.name", f"route {name!r} is declared twice")
        route = RouteConfig(
            name=name,
            handler=r.get(table, f, "handler", str, where=w),
            retry_delays=tuple(delays) if isinstance(delays, list) else (),
            delivery_limit=r.get(table, f, "delivery_limit", int, 20, where=w),
            prefetch=r.get(table, f, "prefetch", int, 100, where=w),
            batch_size=r.get(table, f, "batch_size", int, 100, where=w),
        )
        r.check(route.batch_size <= route.prefetch, f, f"{key}.batch_size", "must not exceed prefetch")
        out[name] = route
    return out


def _flows(r: Reader, raw: dict[str, Any], routes: dict[str, RouteConfig],
           partners: dict[str, PartnerConfig]) -> dict[str, FlowConfig]:
    f = "flows.toml"
    out: dict[str, FlowConfig] = {}

    def build(name: str, t: dict[str, Any]) -> None:
        key = f"flow.{name}"
        w = f"{key}."
        flow = FlowConfig(
            name=name,
            description=str(t.get("description", "")),
            partner=r.get(t, f, "partner", str, where=w),
            direction=r.get(t, f, "direction", str, where=w),
            layout=r.get(t, f, "layout", str, where=w),
            layout_version=r.get(t, f, "layout_version", int, where=w),
            route=r.get(t, f, "route", str, where=w),
            part_size=r.get(t, f, "part_size", int, 50000, where=w),
            substitutions=config_file(r, t, f, "substitutions", w),
            done_marker=r.get(t, f, "done_marker", str, ".done", where=w),
            folder=r.get(t, f, "folder", str, "in", where=w),
            file_name=r.get(t, f, "file_name", str, DEFAULT_NAME, where=w),
            settle_seconds=float(r.get(t, f, "settle_seconds", int, 1, where=w)),
            max_bytes=r.get(t, f, "max_bytes", int, FlowConfig.max_bytes, where=w),
        )
        r.check(flow.partner in partners, f, f"{key}.partner", f"no partner named {flow.partner!r} in partners.toml")
        r.check(flow.route in routes, f, f"{key}.route", f"no route named {flow.route!r} in routes.toml")
        r.check(flow.direction in DIRECTIONS, f, f"{key}.direction", "must be 'out' or 'in'")
        r.check(flow.part_size > 0, f, f"{key}.part_size", "must be positive")
        problem = name_pattern_problem(flow.file_name)
        r.check(problem is None, f, f"{key}.file_name", problem or "")
        r.check(bool(flow.folder) and ".." not in flow.folder.split("/") and not flow.folder.startswith("/"),
                f, f"{key}.folder", "must be a relative sub-folder without '..'")
        out[name] = flow

    each(r, raw.get("flow", {}), f, "flow", build)
    return out
