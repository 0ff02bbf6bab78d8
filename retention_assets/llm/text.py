"""Prompt format, tokenisation and batching shared by SFT, the reward model and PPO.

One fixed format for every step, the HH-RLHF dialogue format, so that the reward model scores
PPO messages in the format it was trained on: ``"\\n\\nHuman: {prompt}\\n\\nAssistant: {response}"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

HUMAN = "\n\nHuman: "
ASSISTANT = "\n\nAssistant:"
IGNORE = -100  # label value that cross-entropy skips


def format_prompt(prompt: str) -> str:
    """A raw user prompt in the dialogue format; HH prompts already are (they end with ``Assistant:``)."""
    if prompt.rstrip().endswith(ASSISTANT.strip()):
        return prompt.rstrip()
    return f"{HUMAN}{prompt.strip()}{ASSISTANT}"


def format_response(response: str) -> str:
    return " " + response.strip()


@dataclass
class Encoded:
    ids: list[int]
    prompt_len: int  # tokens before the response starts


def encode_pair(tokenizer, prompt: str, response: str, max_length: int) -> Encoded:
    """Prompt and response tokens, the prompt cut from the left and the response from the right,
    with EOS after the response so the model learns to stop."""
    prompt_ids = tokenizer(format_prompt(prompt))["input_ids"]
    response_ids = tokenizer(format_response(response), add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    keep_prompt = min(len(prompt_ids), max_length // 2)
    prompt_ids = prompt_ids[len(prompt_ids) - keep_prompt :]
    response_ids = response_ids[: max_length - len(prompt_ids)]
    return Encoded(prompt_ids + response_ids, len(prompt_ids))


def length_grouped_batches(lengths: list[int], batch_size: int, rng: np.random.Generator | None) -> list[list[int]]:
    """Batches of similar length so padding stays small; batch order shuffled when ``rng`` is given.

    Shuffle, cut into chunks of 50 batches, sort each chunk by length (the ``group_by_length``
    idea of transformers' Trainer), then shuffle the batches themselves.
    """
    order = np.arange(len(lengths)) if rng is None else rng.permutation(len(lengths))
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: -lengths[i])
        batches += [list(map(int, part[i : i + batch_size])) for i in range(0, len(part), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


def collate_lm(items: list[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ids, attention mask, and labels on response tokens only."""
    width = max(len(e.ids) for e in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    for row, e in enumerate(items):
        n = len(e.ids)
        ids[row, :n] = torch.tensor(e.ids)
        mask[row, :n] = 1
        labels[row, e.prompt_len : n] = ids[row, e.prompt_len : n]
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def collate_scores(items: list[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ids and mask for a sequence classifier (it reads the last non-pad token)."""
    batch = collate_lm(items, pad_id)
    return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}


def left_pad(prompts: list[list[int]], pad_id: int) -> dict[str, torch.Tensor]:
    """Left-padded prompts for generation, so every response starts at the same column."""
    width = max(map(len, prompts))
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, p in enumerate(prompts):
        ids[row, width - len(p) :] = torch.tensor(p)
        mask[row, width - len(p) :] = 1
    return {"input_ids": ids, "attention_mask": mask}
