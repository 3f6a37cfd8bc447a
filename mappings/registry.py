"""The shipped layouts: mappings/layouts/<partner>/<name>-v<version>.toml, latest version by default."""

from __future__ import annotations

from pathlib import Path

from mappings.layout import Layout
from mappings.loader import FILE_NAME, load_layout

LAYOUTS_DIR = Path(__file__).resolve().parent / "layouts"
# Folders of layouts in another form: chukan/ holds データ標準レイアウト (numbered items of data sets,
# no record framing), loaded by mappings/standard_layout.py.
OTHER_FORMS = frozenset({"chukan"})


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


class LayoutRegistry:
    def __init__(self, root: Path = LAYOUTS_DIR) -> None:
        self.root = root
        self._cache: dict[Path, Layout] = {}

    def versions(self, partner: str, name: str) -> list[str]:
        """Versions on disk, oldest first."""
        found = []
        for path in (self.root / partner).glob(f"{name}-v*.toml"):
            m = FILE_NAME.fullmatch(path.name)
            if m and m["name"] == name:
                found.append(m["version"])
        return sorted(found, key=_version_key)

    def get(self, partner: str, name: str, version: str | int | None = None) -> Layout:
        if partner in OTHER_FORMS:
            raise LookupError(f"{partner}/ holds layouts of another form (mappings/standard_layout.py)")
        if version is None:
            versions = self.versions(partner, name)
            if not versions:
                raise LookupError(f"no layout {partner}/{name} under {self.root}")
            version = versions[-1]
        path = self.root / partner / f"{name}-v{version}.toml"
        if path not in self._cache:
            if not path.is_file():
                raise LookupError(f"no layout {partner}/{name} version {version} ({path})")
            layout = load_layout(path)
            if layout.partner != partner:
                raise LookupError(f"{path}: partner {layout.partner!r} inside, folder says {partner!r}")
            self._cache[path] = layout
        return self._cache[path]

    def available(self) -> list[tuple[str, str, str]]:
        """(partner, name, version) of every layout file, sorted."""
        out = []
        for path in self.root.glob("*/*.toml"):
            m = FILE_NAME.fullmatch(path.name)
            if m and path.parent.name not in OTHER_FORMS:
                out.append((path.parent.name, m["name"], m["version"]))
        return sorted(out, key=lambda t: (t[0], t[1], _version_key(t[2])))


layouts = LayoutRegistry()
