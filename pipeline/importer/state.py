"""What the import remembers in `.episode/import/`: for each episode (by its feed guid) the post
it belongs to, and the hash of the bytes the import last wrote there (none for an adopted
post). A post whose bytes still hash the same is the import's to update; any other is the
user's, and never rewritten."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PipelineError
from ..user_files import private_folder

STATE_FILE = "posts.json"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Entry:
    file: str  # relative to the site
    written: str | None  # sha256 of what the import wrote; None: adopted
    added: tuple[str, ...] = ()
    """The front-matter keys the import added to a post it does not own: never added again (a
    key the user then deletes stays deleted)."""


@dataclass
class ImportState:
    folder: Path
    entries: dict[str, Entry] = field(default_factory=dict)
    _loaded: bytes = b""

    @classmethod
    def load(cls, folder: Path) -> ImportState:
        path = folder / STATE_FILE
        if not path.is_file():
            return cls(folder)
        data = path.read_bytes()
        try:
            raw = json.loads(data)
            entries = {
                guid: Entry(
                    str(e["file"]),
                    e.get("written") if isinstance(e.get("written"), str) else None,
                    tuple(str(k) for k in e.get("added", ())),
                )
                for guid, e in raw.get("posts", {}).items()
            }
        except (ValueError, TypeError, KeyError, AttributeError):
            raise PipelineError(
                "not the import's state: delete it to adopt the posts again", path=path
            ) from None
        return cls(folder, entries, data)

    def owners(self) -> dict[str, str]:
        """`{post file: the guid of its episode}`."""
        return {e.file: guid for guid, e in self.entries.items()}

    def _bytes(self) -> bytes:
        posts = {
            guid: {"file": e.file, "written": e.written, **({"added": list(e.added)} if e.added else {})}
            for guid, e in sorted(self.entries.items())
        }
        return (json.dumps({"posts": posts}, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()

    def save(self) -> None:
        """Written only when something changed: a run that changes nothing touches no file."""
        data = self._bytes()
        if data == self._loaded:
            return
        private_folder(self.folder)
        temporary = self.folder / (STATE_FILE + ".tmp")
        temporary.write_bytes(data)
        os.replace(temporary, self.folder / STATE_FILE)
        self._loaded = data
