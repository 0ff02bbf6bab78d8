"""Supervised fine-tuning with LoRA on ``sft_pairs``: loss on response tokens only.

Run as a Pipes step: ``python -m retention_assets.llm.sft``.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from peft import TaskType

from retention_assets.llm import checkpoints, models, plots, steps
from retention_assets.llm.config import LLMConfig
from retention_assets.llm.text import IGNORE, Encoded, collate_lm, encode_pair, format_prompt, length_grouped_batches

# Metadata every run of this step reports (besides the artifact ref).
REPORTED = ("eval_loss_before", "eval_loss_after", "eval_perplexity_before", "eval_perplexity_after", "train_pairs", "eval_pairs", "train_tokens_per_s", "loss_curve")
KIND = "sft_adapter"
PROBE_PAIRS = 4  # held-out pairs whose loss the reloaded checkpoint must reproduce
PROBE_PROMPT = "How do I keep a houseplant alive?"

Log = Callable[[int, dict], None]


def select_pairs(pairs: pd.DataFrame, splits: pd.DataFrame, config: LLMConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and held-out (validation) demonstrations."""
    missing = {"pair_id", "prompt", "response", "rank"} - set(pairs.columns)
    if missing:
        raise ValueError(f"sft_pairs: missing column(s) {sorted(missing)}")
    frame = pairs.merge(splits[["id", "split"]], left_on="pair_id", right_on="id", how="inner")
    if config.sft.best_reply_only:
        frame = frame[frame["rank"].fillna(0) == 0]
    train = frame[frame["split"] == "train"]
    held_out = frame[frame["split"] == "validation"]
    if config.sft.max_train_pairs:
        train = train.sample(min(len(train), config.sft.max_train_pairs), random_state=config.sft.seed)
    if config.sft.max_eval_pairs:
        held_out = held_out.sample(min(len(held_out), config.sft.max_eval_pairs), random_state=config.sft.seed)
    if train.empty or held_out.empty:
        raise ValueError(f"sft_pairs: {len(train)} train and {len(held_out)} validation pairs; both must be non-empty")
    return train.reset_index(drop=True), held_out.reset_index(drop=True)


def encode(tokenizer, frame: pd.DataFrame, max_length: int) -> list[Encoded]:
    return [encode_pair(tokenizer, p, r, max_length) for p, r in zip(frame["prompt"], frame["response"])]


def token_loss(model, items: list[Encoded], pad_id: int, batch_size: int) -> tuple[float, int]:
    """Mean next-token loss over response tokens (token-weighted) and the token count."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch_ids in length_grouped_batches([len(e.ids) for e in items], batch_size, None):
            batch = models.on_device(collate_lm([items[i] for i in batch_ids], pad_id), model)
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            labels = batch["labels"][:, 1:]
            losses = torch.nn.functional.cross_entropy(
                logits[:, :-1].flatten(0, 1), labels.flatten(), ignore_index=IGNORE, reduction="sum"
            )
            total += float(losses)
            count += int((labels != IGNORE).sum())
    return total / max(count, 1), count


def train_steps(model, items: list[Encoded], config: LLMConfig, pad_id: int, log: Log) -> dict:
    """LoRA training loop: length-grouped batches, AdamW, response-token loss."""
    settings = config.sft
    rng = np.random.default_rng(settings.seed)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate)
    step, tokens, start = 0, 0, time.perf_counter()
    model.train()
    for _ in range(settings.epochs):
        for batch_ids in length_grouped_batches([len(e.ids) for e in items], settings.batch_size, rng):
            batch = models.on_device(collate_lm([items[i] for i in batch_ids], pad_id), model)
            with models.autocast(config.autocast_bf16):
                loss = model(**batch, use_cache=False).loss  # transformers shifts labels and skips IGNORE
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            tokens += int(batch["attention_mask"].sum())
            log(step, {"train_loss": loss.item()})
            if settings.max_steps and step >= settings.max_steps:
                return {"steps": step, "tokens": tokens, "seconds": time.perf_counter() - start}
    return {"steps": step, "tokens": tokens, "seconds": time.perf_counter() - start}


def train_sft(config: LLMConfig, pairs: pd.DataFrame, splits: pd.DataFrame, out_dir: Path, log: Log = lambda *_: None) -> dict:
    """Train the SFT adapter into ``out_dir`` and return its metrics."""
    torch.manual_seed(config.sft.seed)
    tokenizer = models.load_tokenizer(config.model)
    train, held_out = select_pairs(pairs, splits, config)
    max_length = config.model.max_length
    train_items, eval_items = encode(tokenizer, train, max_length), encode(tokenizer, held_out, max_length)
    model = models.with_lora(models.load_causal_lm(config.model, tokenizer), config.sft.lora, TaskType.CAUSAL_LM)
    pad = tokenizer.pad_token_id
    batch_size = config.sft.batch_size
    loss_before, eval_tokens = token_loss(model, eval_items, pad, batch_size)
    run = train_steps(model, train_items, config, pad, log)
    loss_after, _ = token_loss(model, eval_items, pad, batch_size)
    probe_loss, _ = token_loss(model, eval_items[:PROBE_PAIRS], pad, batch_size)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))  # adapter_config.json + adapter_model.safetensors
    checkpoints.write_meta(
        out_dir, KIND, base=config.model.model_dump(), probe_loss=probe_loss,
        probe_pairs=held_out.head(PROBE_PAIRS)[["prompt", "response"]].to_dict("records"),
    )  # fmt: skip
    return {
        "train_pairs": len(train), "eval_pairs": len(held_out), "eval_tokens": eval_tokens,
        "eval_loss_before": loss_before, "eval_loss_after": loss_after,
        "eval_perplexity_before": math.exp(loss_before), "eval_perplexity_after": math.exp(loss_after),
        "train_steps": run["steps"], "train_tokens_per_s": run["tokens"] / max(run["seconds"], 1e-9),
        "train_seconds": run["seconds"],
    }  # fmt: skip


def load_sft(directory: Path, config: LLMConfig | None = None):
    """``(model, tokenizer, meta)`` from an SFT checkpoint; a broken one raises ``CheckpointError``."""
    return models.load_adapter(directory, KIND, config.model if config else None, models.load_causal_lm)


def validate_sft(directory: Path, config: LLMConfig) -> dict:
    """Reload the staged checkpoint; it must reproduce the probe loss and generate text."""
    model, tokenizer, meta = load_sft(directory, config)
    items = [encode_pair(tokenizer, p["prompt"], p["response"], config.model.max_length) for p in meta["probe_pairs"]]
    loss, _ = token_loss(model, items, tokenizer.pad_token_id, config.sft.batch_size)
    checkpoints.check_probe("sft_model", {"probe_loss": meta["probe_loss"]}, {"probe_loss": loss}, 1e-3)
    text = generate_text(model, tokenizer, PROBE_PROMPT, max_new_tokens=16)
    if not text.strip():
        raise checkpoints.CheckpointError("sft_model: reloaded checkpoint generated an empty reply to the probe prompt")
    return {"probe_loss": loss, "probe_reply": text}


def generate_text(model, tokenizer, prompt: str, max_new_tokens: int) -> str:
    """Greedy reply to one prompt; at least a few tokens, so an early EOS is not read as failure."""
    ids = models.on_device(tokenizer(format_prompt(prompt), return_tensors="pt"), model)
    model.eval()
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False, min_new_tokens=4, pad_token_id=tokenizer.pad_token_id, use_cache=True)
    return tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)


def main(params: dict, reporter) -> dict:
    config = steps.step_config(params)
    pairs, splits = steps.read_table(params, "sft_pairs"), steps.read_table(params, "sft_splits")
    history: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="sft-") as tmp:
        metrics = train_sft(config, pairs, splits, Path(tmp), lambda step, stats: history.append({"step": step, **stats}))
        reporter.publish(KIND, tmp, validate=lambda staged: validate_sft(staged, config))
    return {**metrics, "loss_curve": steps.md(plots.curves_markdown(history, ["train_loss"], "SFT training loss"))}


if __name__ == "__main__":
    from resources.compute.entry import run_entry

    run_entry(main)
