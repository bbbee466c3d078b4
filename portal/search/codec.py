"""A faster Whoosh codec for writing: same file format, fewer system calls.

When Whoosh writes a segment's postings it asks, for every posting, whether the field
has a length column, and answers with a ``stat()`` of the column file. For fields
without lengths (every ID field, the tags) that is one ``stat()`` per posting: a third
of the time a rebuild of 50,000 documents spends committing. This codec remembers the
answer for the segment being written.

New segments record a plain :class:`W3Codec`, so indexes never depend on this module.
"""

from __future__ import annotations

from typing import Any

from whoosh.codec.whoosh3 import W3Codec, W3PerDocReader, W3Segment


class _ColumnCachingReader(W3PerDocReader):  # type: ignore[misc]
    def __init__(self, storage: Any, segment: Any) -> None:
        super().__init__(storage, segment)
        self._has_column: dict[str, bool] = {}

    def has_column(self, fieldname: str) -> bool:
        found = self._has_column.get(fieldname)
        if found is None:
            found = self._has_column[fieldname] = bool(super().has_column(fieldname))
        return found


class WritingCodec(W3Codec):  # type: ignore[misc]
    """Pass as ``ix.writer(codec=WritingCodec())``."""

    def per_document_reader(self, storage: Any, segment: Any) -> W3PerDocReader:
        return _ColumnCachingReader(storage, segment)

    def new_segment(self, storage: Any, indexname: str) -> W3Segment:
        return W3Segment(W3Codec(), indexname)
