"""OASST1 message trees to prompt→response pairs for supervised fine-tuning.

A pair is a prompter message and one assistant reply to it. Both must be English, not deleted
and have passed review. Replies are ordered best-ranked first (OASST1's ``rank`` 0 is the
best; unranked replies come last), so ``rank`` lets a consumer keep only the best reply.
"""

from __future__ import annotations

import pandas as pd

from retention_assets.data.jsonl import read_jsonl

REQUIRED = ("message_id", "parent_id", "role", "text", "lang", "deleted", "review_result", "rank", "message_tree_id")


def _usable(message: dict) -> bool:
    return message["lang"] == "en" and not message["deleted"] and message["review_result"] is True


def parse_oasst1(data: bytes, path: str) -> pd.DataFrame:
    messages = [m for m in read_jsonl(data, path, REQUIRED) if _usable(m)]
    prompts = {m["message_id"]: m for m in messages if m["role"] == "prompter"}
    rows = [
        {
            "pair_id": reply["message_id"],
            "prompt_id": reply["parent_id"],
            "message_tree_id": reply["message_tree_id"],
            "prompt": prompts[reply["parent_id"]]["text"],
            "response": reply["text"],
            "rank": reply["rank"],
        }
        for reply in messages
        if reply["role"] == "assistant" and reply["parent_id"] in prompts
    ]
    frame = pd.DataFrame(rows, columns=["pair_id", "prompt_id", "message_tree_id", "prompt", "response", "rank"])
    frame["rank"] = frame["rank"].astype("Float64")
    frame = frame.sort_values(["message_tree_id", "prompt_id", "rank"], na_position="last", kind="stable")
    return frame.reset_index(drop=True)


def count_all_pairs(data: bytes, path: str) -> int:
    """Prompt→assistant edges before any filter: the figure the mirror's README quotes."""
    messages = read_jsonl(data, path, REQUIRED)
    prompters = {m["message_id"] for m in messages if m["role"] == "prompter"}
    return sum(m["role"] == "assistant" and m["parent_id"] in prompters for m in messages)
