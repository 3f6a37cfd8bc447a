"""Reading the configuration files: typed look-ups that collect problems instead of raising,
so that every problem is reported at once with its file, key and reason."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

FILES = ("bridge.toml", "routes.toml", "partners.toml", "flows.toml", "nenkin.toml", "chukan.toml")
ENV_REF = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


class ConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        # One problem on the same line: what shows only a message's first line (status, a log) still says it.
        shown = f" {problems[0]}" if len(problems) == 1 else "".join(f"\n  - {p}" for p in problems)
        super().__init__("configuration is not valid:" + shown)
        self.problems = problems


class Table(dict[str, Any]):
    """A parsed TOML table that remembers which of its keys the loader asked for, so that a key
    nobody reads (a typo, a setting of another version) is reported rather than silently ignored.
    Whatever way a loader reads it (Reader.get, .get, [], in) counts; iterating it counts every key
    (a table of names: flows, partners, months)."""

    def __init__(self, items: dict[str, Any]) -> None:
        super().__init__(items)
        self.read: set[str] = set()
        self.iterated = False

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self.iterated = True
        return super().__iter__()

    def keys(self) -> Any:
        self.iterated = True
        return super().keys()

    def items(self) -> Any:
        self.iterated = True
        return super().items()

    def values(self) -> Any:
        self.iterated = True
        return super().values()


def _tracked(node: Any) -> Any:
    if isinstance(node, dict):
        return Table({k: _tracked(v) for k, v in dict.items(node)})
    if isinstance(node, list):
        return [_tracked(v) for v in node]
    return node


def unknown_keys(raw: dict[str, dict[str, Any]]) -> list[str]:
    """Every key of the parsed files that the loader never read (call after loading)."""
    found: list[str] = []

    def walk(file: str, node: Any, path: str) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(file, item, f"{path}[{i}]")
        if not isinstance(node, Table):
            return
        for key, value in dict.items(node):
            where = f"{path}.{key}" if path else key
            if node.iterated or key in node.read:
                walk(file, value, where)
            else:
                found.append(f"{file}: {where}: unknown key (kaigo-bridge does not read it: a typo?)")

    for file, table in raw.items():
        walk(file, table, "")
    return found


class Reader:
    """Typed look-ups into parsed TOML that record problems instead of raising."""

    def __init__(self, var: str, config_dir: Path) -> None:
        self.problems: list[str] = []
        self.var = var
        self.config_dir = config_dir

    def get(self, table: dict[str, Any], file: str, key: str, kind: type[T], default: T | None = None,
            where: str = "") -> T:
        """Value at dotted ``key`` in ``table``; ``where`` prefixes the key in messages."""
        node: Any = table
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is not None:
                    return default
                self.problems.append(f"{file}: {where}{key}: missing")
                return kind()
            node = node[part]
        if isinstance(node, str):
            node = self.expand(node, file, f"{where}{key}")
            if kind is int and node.isdigit():
                node = int(node)
        if not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
            self.problems.append(f"{file}: {where}{key}: expected {kind.__name__}, got {type(node).__name__}")
            return kind()
        return node

    def expand(self, text: str, file: str, key: str) -> str:
        """``{var}`` is the state folder; ``${NAME}`` an environment variable, which must be set
        (how a deployment gives host names, ports and key-file paths without editing files)."""
        def env(match: re.Match[str]) -> str:
            value = os.environ.get(match.group(1))
            if value is None:
                self.problems.append(f"{file}: {key}: environment variable {match.group(1)} is not set")
                return ""
            return value

        return ENV_REF.sub(env, text).replace("{var}", self.var)

    def path(self, table: dict[str, Any], file: str, key: str, where: str = "") -> Path:
        return Path(self.get(table, file, key, str, where=where))

    @contextmanager
    def apart(self) -> Iterator[list[str]]:
        """Problems found inside go to the list given, not to ``problems``: settings that matter only
        to whoever uses them (one partner's SFTP channel), so that a command that never talks to
        that partner is not refused for them."""
        outer, self.problems = self.problems, []
        try:
            yield self.problems
        finally:
            self.problems = outer

    def check(self, ok: bool, file: str, key: str, reason: str) -> None:
        # One problem per key: a value already reported (missing, wrong type) is not judged again.
        if not ok and not any(p.startswith(f"{file}: {key}:") for p in self.problems):
            self.problems.append(f"{file}: {key}: {reason}")


def read_files(config_dir: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    raw: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for name in FILES:
        path = config_dir / name
        try:
            raw[name] = _tracked(tomllib.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            problems.append(f"{name}: file not found in {config_dir}")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{name}: not valid TOML: {exc}")
    return raw, problems


def each(r: Reader, items: Any, file: str, what: str, build: Callable[[str, dict[str, Any]], None]) -> None:
    if not isinstance(items, dict):
        r.problems.append(f"{file}: {what}: expected a table")
        return
    for name, table in items.items():
        if not isinstance(table, dict):
            r.problems.append(f"{file}: {what}.{name}: expected a table")
            continue
        build(name, table)


def config_file(r: Reader, t: dict[str, Any], f: str, key: str, where: str) -> Path | None:
    """An optional file named relative to the config folder; it must exist."""
    if key not in t:
        return None
    path = r.config_dir / r.get(t, f, key, str, where=where)
    r.check(path.is_file(), f, f"{where}{key}", f"file {path} does not exist")
    return path


