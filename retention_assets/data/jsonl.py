"""Reading JSON-lines files, plain or gzip-compressed, with errors that name the file and line."""

from __future__ import annotations

import gzip
import json
import zlib

from retention_assets.data.errors import DataError


def read_jsonl(data: bytes, path: str, required: tuple[str, ...]) -> list[dict]:
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(path, f"corrupted gzip stream: {exc}") from exc
    if not data.strip():
        raise DataError(path, "file is empty")
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise DataError(path, f"is not UTF-8 text (byte {exc.start}): not a JSON-lines file") from exc
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(path, f"line {number} is not valid JSON ({exc.msg}); the file may be truncated") from exc
        missing = [key for key in required if key not in record]
        if missing:
            raise DataError(path, f"line {number} lacks key(s) {missing}")
        records.append(record)
    return records
