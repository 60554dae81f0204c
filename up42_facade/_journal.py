"""The sidecar of a resumable download: which object the part file holds and which bytes.

A download that is interrupted (an error, Ctrl-C, ``kill -9``, a reboot) leaves two hidden
files in its target folder:

- ``.up42-download.part``: the object's bytes, each at its offset, with holes where no
  slice arrived yet;
- ``.up42-download.part.json``: this journal: the object (its URL without the signed query,
  size, ETag and announced hashes) and the ranges of the part file that hold its bytes.

The next download into the same folder reads the journal and asks storage only for the
missing ranges, each with ``If-Range: <ETag>``: an object that changed answers with all of
itself, and the download starts over. Nothing in the journal is trusted further than that:
the whole object is still checked against its size and ``x-goog-hash`` when it is complete,
so bytes a crash lost before they reached the disk are caught there (the download then
starts over once). Both files are removed when the download succeeds.

The journal is rewritten (atomically) as ranges complete, a few times a second at most, so
a killed download loses at most the last fraction of a second of its bytes.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from ._files import PART_PREFIX, write_atomically
from ._integrity import RemoteObject
from ._partfile import Span

__all__ = ["JOURNAL_SUFFIX", "PART_NAME", "Journal"]

LOGGER = logging.getLogger("up42_facade")

#: The resumable part file's name inside the target folder.
PART_NAME = f"{PART_PREFIX}download.part"
#: Appended to the part file's name for its journal.
JOURNAL_SUFFIX = ".json"
#: Written into every journal; a journal without it (or of another version) is ignored.
FORMAT = "up42-facade resumable download"
VERSION = 1


class Journal:
    """Reads and writes the journal of one resumable part file.

    Args:
        part: The part file's path.
        source: The object's URL without its query (``redact_url``): a journal of another
            object is ignored.
    """

    def __init__(self, part: Path, source: str) -> None:
        self.path = part.with_name(part.name + JOURNAL_SUFFIX)
        self._source = source
        self._saved: Any = None

    def load(self) -> tuple[RemoteObject, list[Span]] | None:
        """What a previous run left: the object and its ranges on disk, or None (no journal,
        another object's, one that cannot be read, or an object without an ETag)."""
        try:
            record = json.loads(self.path.read_bytes())
            if record.get("format") != FORMAT or record.get("version") != VERSION:
                return None
            if record["source"] != self._source:
                LOGGER.debug("the part file in %s is of another object", self.path.parent)
                return None
            known = RemoteObject(
                size=int(record["size"]),
                md5=_unb64(record.get("md5")),
                crc32c=record.get("crc32c"),
                validator=str(record["validator"]),
                filename=record.get("filename"),
                content_type=record.get("content_type"),
            )
            spans = [(int(first), int(last)) for first, last in record["on_disk"]]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
            LOGGER.debug("ignoring the unreadable journal %s: %s", self.path, exc)
            return None
        return known, spans

    def save(self, known: RemoteObject, spans: list[Span]) -> None:
        """Record ``spans`` of ``known`` as on disk (nothing is written if nothing changed).

        Raises:
            OSError: The journal could not be written (a full disk, say).
        """
        if known.validator is None or known.size is None:
            return  # nothing to resume against: the next run starts over anyway
        record = {
            "format": FORMAT,
            "version": VERSION,
            "source": self._source,
            "size": known.size,
            "validator": known.validator,
            "md5": None if known.md5 is None else base64.b64encode(known.md5).decode(),
            "crc32c": known.crc32c,
            "filename": known.filename,
            "content_type": known.content_type,
            "on_disk": [list(span) for span in spans],
        }
        if record == self._saved:
            return
        write_atomically(self.path, json.dumps(record, indent=1).encode())
        self._saved = record

    def remove(self) -> None:
        """Delete the journal (the download succeeded, or starts over), and any half-written
        copy a killed process left (``write_atomically``'s temporary name)."""
        self._saved = None
        for path in (self.path, *self.path.parent.glob(f".{self.path.name}.*.part")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _unb64(value: str | None) -> bytes | None:
    return None if value is None else base64.b64decode(value, validate=True)
