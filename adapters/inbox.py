"""Where an inbound flow's files arrive: a folder of a partner's drop share or SFTP server.

Both channels offer the same three steps to ``Bridge.receive``: the names that are complete (the
done-marker beside them, size and mtime held still over the settle time), a file's bytes as a
stream, and removing a file with its marker once its receipt has committed. Neither offers a
file over the flow's ``max_bytes`` nor anything but a regular file: the drop folder refuses it
(moved aside into ``.refused/``, adapters/dropdir.py), the SFTP share leaves it where it is and
says so once per process; both log it as an error with the name shown masked.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from adapters.dropdir import DropFolder, FileRefused
from adapters.sftp import SftpClient, is_temp_name
from adapters.sftp_errors import RemoteNotFoundError
from queues.partner_names import shown

log = logging.getLogger(__name__)
# (folder, name, size, mtime) of oversize files on SFTP shares already reported by this process:
# each is said once, not at every poll; bounded, in case a partner keeps adding them.
_REPORTED: set[tuple[str, str, int, int]] = set()
_REPORTED_MAX = 10_000


class Inbox(Protocol):
    def ready(self, marker: str, settle: float) -> list[str]: ...

    def chunks(self, name: str) -> Iterator[bytes]: ...

    def remove(self, name: str, marker: str) -> None: ...


class DropInbox:
    def __init__(self, path: Path, max_bytes: int | None = None) -> None:
        self.folder = DropFolder(path)
        self.max_bytes = max_bytes

    def ready(self, marker: str, settle: float) -> list[str]:
        return [p.name for p in self.folder.ready(marker, settle, self.max_bytes)]

    def chunks(self, name: str) -> Iterator[bytes]:
        return self.folder.read(self.folder.path / name, self.max_bytes)

    def remove(self, name: str, marker: str) -> None:
        self.folder.remove(self.folder.path / name, marker)


class SftpInbox:
    """``folder`` is relative to the partner's SFTP root; the client is connected by the caller."""

    def __init__(self, client: SftpClient, folder: str, max_bytes: int | None = None) -> None:
        self.client = client
        self.folder = folder
        self.max_bytes = max_bytes

    def ready(self, marker: str, settle: float) -> list[str]:
        files = self.client.stable_listing(self.folder, settle)  # regular files only
        names = {f.name for f in files}
        complete = [f for f in files if not f.name.endswith(marker) and f.name + marker in names
                    and not is_temp_name(f.name)]
        taken = []
        for f in complete:
            if self.max_bytes is None or f.size <= self.max_bytes:
                taken.append(f.name)
                continue
            key = (self.folder, f.name, f.size, f.mtime)
            if key not in _REPORTED:
                if len(_REPORTED) >= _REPORTED_MAX:
                    _REPORTED.clear()
                _REPORTED.add(key)
                log.error("sftp %s: %s refused, left on the server: %s bytes, more than the flow's max_bytes (%s)",
                          self.folder, shown(f.name), f.size, self.max_bytes)
        return taken

    def chunks(self, name: str) -> Iterator[bytes]:
        got = 0
        for chunk in self.client.read_chunks(posixpath.join(self.folder, name)):
            got += len(chunk)
            if self.max_bytes is not None and got > self.max_bytes:
                raise FileRefused(f"sftp {self.folder}: {shown(name)} grew past the {self.max_bytes} bytes "
                                  "allowed while being read")
            yield chunk

    def remove(self, name: str, marker: str) -> None:
        for remote in (name, name + marker):
            try:
                self.client.remove(posixpath.join(self.folder, remote))
            except RemoteNotFoundError:  # removed already by an earlier, interrupted receive
                pass
