"""Preference pairs (prompt, chosen, rejected) from Anthropic HH-RLHF and Stanford SHP-2."""

from __future__ import annotations

import hashlib
import io

import pandas as pd

from retention_assets.data.errors import DataError
from retention_assets.data.jsonl import read_jsonl

COLUMNS = ["pair_id", "source", "prompt", "chosen", "rejected"]
ASSISTANT = "\n\nAssistant:"

SHP2_COLUMNS = (
    "post_id", "domain", "upvote_ratio", "history", "c_root_id_A", "c_root_id_B",
    "created_at_utc_A", "created_at_utc_B", "score_A", "score_B",
    "human_ref_A", "human_ref_B", "labels", "seconds_difference", "score_ratio",
)  # fmt: skip


def _pair_id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def split_transcript(chosen: str, rejected: str) -> tuple[str, str, str]:
    """Split two HH transcripts at their last shared ``Assistant:`` turn.

    The prompt is the shared dialogue up to and including that marker; the two completions are
    what follows it.
    """
    shared = 0
    for a, b in zip(chosen, rejected):
        if a != b:
            break
        shared += 1
    cut = chosen.rfind(ASSISTANT, 0, shared + 1)
    if cut < 0:
        raise ValueError("no shared 'Assistant:' turn")
    cut += len(ASSISTANT)
    return chosen[:cut], chosen[cut:].strip(), rejected[cut:].strip()


def parse_hh_rlhf(data: bytes, path: str, source: str) -> pd.DataFrame:
    rows = []
    for number, record in enumerate(read_jsonl(data, path, ("chosen", "rejected")), start=1):
        try:
            prompt, chosen, rejected = split_transcript(record["chosen"], record["rejected"])
        except ValueError as exc:
            raise DataError(path, f"line {number}: {exc}") from exc
        rows.append((_pair_id(source, prompt, chosen, rejected), source, prompt, chosen, rejected))
    return pd.DataFrame(rows, columns=COLUMNS)


def parse_shp2(data: bytes, path: str, min_score_ratio: float) -> tuple[pd.DataFrame, int]:
    """SHP-2 pairs with ``score_ratio >= min_score_ratio`` (the SHP paper keeps ratios of 2+).

    ``labels`` is 1 when ``human_ref_A`` is preferred. Returns the pairs and how many rows the
    ratio filter dropped.
    """
    if data[:4] == b"PAR1":
        frame = pd.read_parquet(io.BytesIO(data))
        missing = [c for c in SHP2_COLUMNS if c not in frame.columns]
        if missing:
            raise DataError(path, f"missing column(s) {missing}")
        records = frame.to_dict("records")
    else:
        records = read_jsonl(data, path, SHP2_COLUMNS)
    rows, dropped = [], 0
    for number, r in enumerate(records, start=1):
        if r["labels"] not in (0, 1):
            raise DataError(path, f"row {number}: column 'labels' must be 0 or 1, got {r['labels']!r}")
        try:
            ratio = float(r["score_ratio"])
        except (TypeError, ValueError):
            problem = f"row {number}: column 'score_ratio' must be a number, got {r['score_ratio']!r}"
            raise DataError(path, problem) from None
        if ratio < min_score_ratio:
            dropped += 1
            continue
        a_wins = r["labels"] == 1
        chosen, rejected = (r["human_ref_A"], r["human_ref_B"]) if a_wins else (r["human_ref_B"], r["human_ref_A"])
        prompt = f"{r['history']}"
        rows.append((_pair_id("shp2", r["post_id"], chosen, rejected), f"shp2/{r['domain']}", prompt, chosen, rejected))
    return pd.DataFrame(rows, columns=COLUMNS), dropped
