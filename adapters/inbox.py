"""Where an inbound flow's files arrive: a folder of a partner's drop share or SFTP server.

Both channels offer the same three steps to ``Bridge.receive``: the names that are complete (the
done-marker beside them, size and mtime held still over the settle time), a file's bytes as a
stream, and removing a file with its marker once its receipt has committed.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from adapters.dropdir import DropFolder
from adapters.sftp import SftpClient, is_temp_name
from adapters.sftp_errors import RemoteNotFoundError


class Inbox(Protocol):
    def ready(self, marker: str, settle: float) -> list[str]: ...

    def chunks(self, name: str) -> Iterator[bytes]: ...

    def remove(self, name: str, marker: str) -> None: ...


class DropInbox:
    def __init__(self, path: Path) -> None:
        self.folder = DropFolder(path)

    def ready(self, marker: str, settle: float) -> list[str]:
        return [p.name for p in self.folder.ready(marker, settle)]

    def chunks(self, name: str) -> Iterator[bytes]:
        with open(self.folder.path / name, "rb") as f:
            while chunk := f.read(1 << 20):
                yield chunk

    def remove(self, name: str, marker: str) -> None:
        self.folder.remove(self.folder.path / name, marker)


class SftpInbox:
    """``folder`` is relative to the partner's SFTP root; the client is connected by the caller."""

    def __init__(self, client: SftpClient, folder: str) -> None:
        self.client = client
        self.folder = folder

    def ready(self, marker: str, settle: float) -> list[str]:
        files = self.client.stable_listing(self.folder, settle)
        names = {f.name for f in files}
        return [f.name for f in files if not f.name.endswith(marker) and f.name + marker in names
                and not is_temp_name(f.name)]

    def chunks(self, name: str) -> Iterator[bytes]:
        return self.client.read_chunks(posixpath.join(self.folder, name))

    def remove(self, name: str, marker: str) -> None:
        for remote in (name, name + marker):
            try:
                self.client.remove(posixpath.join(self.folder, remote))
            except RemoteNotFoundError:  # removed already by an earlier, interrupted receive
                pass
