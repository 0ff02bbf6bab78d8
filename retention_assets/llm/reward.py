"""Reward model: LoRA plus a scalar score head, trained with the Bradley-Terry pairwise loss.

loss = -log sigmoid(r(prompt, chosen) - r(prompt, rejected)) (Ouyang et al. 2022, eq. 1).
Run as a Pipes step: ``python -m retention_assets.llm.reward``.
"""

from __future__ import annotations

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
from retention_assets.llm.text import Encoded, collate_scores, encode_pair, length_grouped_batches

# Metadata every run of this step reports (besides the artifact ref).
REPORTED = ("eval_accuracy", "eval_accuracy_before", "eval_accuracy_by_source", "eval_mean_margin", "length_baseline_accuracy", "length_baseline_by_source", "loss_curve")
KIND = "reward_model"
PROBE_PAIRS = 4

Log = Callable[[int, dict], None]


def select_pairs(pairs: pd.DataFrame, splits: pd.DataFrame, config: LLMConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    missing = {"pair_id", "source", "prompt", "chosen", "rejected"} - set(pairs.columns)
    if missing:
        raise ValueError(f"preference_pairs: missing column(s) {sorted(missing)}")
    frame = pairs.merge(splits[["id", "split"]], left_on="pair_id", right_on="id", how="inner")
    settings = config.reward
    train, held_out = frame[frame["split"] == "train"], frame[frame["split"] == "validation"]
    if settings.max_train_pairs:
        train = train.sample(min(len(train), settings.max_train_pairs), random_state=settings.seed)
    if settings.max_eval_pairs:
        held_out = held_out.sample(min(len(held_out), settings.max_eval_pairs), random_state=settings.seed)
    if train.empty or held_out.empty:
        raise ValueError(f"preference_pairs: {len(train)} train and {len(held_out)} validation pairs; both must be non-empty")
    return train.reset_index(drop=True), held_out.reset_index(drop=True)


def encode_pairs(tokenizer, frame: pd.DataFrame, max_length: int) -> list[tuple[Encoded, Encoded]]:
    return [
        (encode_pair(tokenizer, p, c, max_length), encode_pair(tokenizer, p, r, max_length))
        for p, c, r in zip(frame["prompt"], frame["chosen"], frame["rejected"])
    ]


def score_items(model, items: list[Encoded], pad_id: int, batch_size: int) -> torch.Tensor:
    """Scalar rewards for encoded (prompt, response) sequences, in input order."""
    model.eval()
    scores = torch.empty(len(items))
    with torch.no_grad():
        for batch_ids in length_grouped_batches([len(e.ids) for e in items], batch_size, None):
            batch = models.on_device(collate_scores([items[i] for i in batch_ids], pad_id), model)
            scores[batch_ids] = model(**batch).logits.squeeze(-1).float().cpu()
    return scores


def score_texts(model, tokenizer, prompts: list[str], responses: list[str], max_length: int, batch_size: int) -> torch.Tensor:
    items = [encode_pair(tokenizer, p, r, max_length) for p, r in zip(prompts, responses)]
    return score_items(model, items, tokenizer.pad_token_id, batch_size)


def scorer(model, tokenizer, max_length: int, batch_size: int):
    """The reward model as a function of (prompts, responses), the reward PPO maximises."""
    return lambda prompts, responses: score_texts(model, tokenizer, prompts, responses, max_length, batch_size)


def evaluate(model, pairs: list[tuple[Encoded, Encoded]], sources: list[str], pad_id: int, batch_size: int) -> dict:
    """Held-out pairwise accuracy (overall, per source), mean margin, and the length-only baseline."""
    chosen = score_items(model, [c for c, _ in pairs], pad_id, batch_size)
    rejected = score_items(model, [r for _, r in pairs], pad_id, batch_size)
    margin = (chosen - rejected).numpy()
    # Length baseline: the longer response (in tokens) wins; a tie counts as half right.
    length_gap = np.array([len(c.ids) - len(r.ids) for c, r in pairs])
    length_right = (length_gap > 0) + 0.5 * (length_gap == 0)
    frame = pd.DataFrame({"source": sources, "right": margin > 0, "length_right": length_right})
    return {
        "eval_accuracy": float(frame["right"].mean()),
        "eval_mean_margin": float(margin.mean()),
        "length_baseline_accuracy": float(frame["length_right"].mean()),
        "eval_accuracy_by_source": {k: float(v) for k, v in frame.groupby("source")["right"].mean().items()},
        "length_baseline_by_source": {k: float(v) for k, v in frame.groupby("source")["length_right"].mean().items()},
    }


def bradley_terry_loss(model, pairs: list[tuple[Encoded, Encoded]], pad_id: int) -> torch.Tensor:
    """Chosen and rejected scored in one forward pass: the first half of the batch is chosen."""
    batch = models.on_device(collate_scores([c for c, _ in pairs] + [r for _, r in pairs], pad_id), model)
    rewards = model(**batch, use_cache=False).logits.squeeze(-1)
    chosen, rejected = rewards[: len(pairs)], rewards[len(pairs) :]
    return -torch.nn.functional.logsigmoid(chosen - rejected).mean()


def accumulate_gradients(model, pairs: list[tuple[Encoded, Encoded]], pad_id: int, micro_batch: int, bf16: bool) -> float:
    """Backward the batch's mean loss in micro-batches of ``micro_batch`` pairs; only one
    micro-batch's activations are alive at a time. Returns the batch loss."""
    total = 0.0
    for start in range(0, len(pairs), micro_batch):
        part = pairs[start : start + micro_batch]
        with models.autocast(bf16):
            loss = bradley_terry_loss(model, part, pad_id) * (len(part) / len(pairs))
        loss.backward()
        total += loss.item()
    return total


def param_groups(model, learning_rate: float, head_learning_rate: float | None) -> list[dict]:
    """LoRA weights at ``learning_rate``; the score head (peft's ``modules_to_save`` copy) at its own rate."""
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    head = [p for n, p in trainable if "modules_to_save" in n]
    if not head:
        raise RuntimeError("reward model: no trainable score head (modules_to_save) found")
    rest = [p for n, p in trainable if "modules_to_save" not in n]
    return [{"params": rest, "lr": learning_rate}, {"params": head, "lr": head_learning_rate or learning_rate}]


def train_reward(config: LLMConfig, pairs: pd.DataFrame, splits: pd.DataFrame, out_dir: Path, log: Log = lambda *_: None) -> dict:
    settings = config.reward
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    tokenizer = models.load_tokenizer(config.model)
    train, held_out = select_pairs(pairs, splits, config)
    max_length, pad = config.model.max_length, tokenizer.pad_token_id
    train_pairs, eval_pairs = encode_pairs(tokenizer, train, max_length), encode_pairs(tokenizer, held_out, max_length)
    model = models.with_lora(models.load_sequence_classifier(config.model, tokenizer), settings.lora, TaskType.SEQ_CLS)
    before = evaluate(model, eval_pairs, list(held_out["source"]), pad, settings.batch_size)
    optimizer = torch.optim.AdamW(param_groups(model, settings.learning_rate, settings.head_learning_rate))
    step, start = 0, time.perf_counter()
    lengths = [len(c.ids) + len(r.ids) for c, r in train_pairs]
    micro = settings.micro_batch_size or settings.batch_size
    for _ in range(settings.epochs):
        model.train()
        for batch_ids in length_grouped_batches(lengths, settings.batch_size, rng):
            loss = accumulate_gradients(model, [train_pairs[i] for i in batch_ids], pad, micro, config.autocast_bf16)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            log(step, {"train_loss": loss})
            if settings.max_steps and step >= settings.max_steps:
                break
    seconds = time.perf_counter() - start
    after = evaluate(model, eval_pairs, list(held_out["source"]), pad, settings.batch_size)
    probe = held_out.head(PROBE_PAIRS)
    probe_scores = score_texts(model, tokenizer, list(probe["prompt"]), list(probe["chosen"]), max_length, settings.batch_size)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))  # LoRA + the score head (modules_to_save), safetensors
    checkpoints.write_meta(
        out_dir, KIND, base=config.model.model_dump(), probe_scores=probe_scores.tolist(),
        probe_pairs=probe[["prompt", "chosen"]].to_dict("records"),
    )  # fmt: skip
    return {
        **after, "eval_accuracy_before": before["eval_accuracy"], "train_pairs": len(train),
        "eval_pairs": len(held_out), "train_steps": step, "train_seconds": seconds,
    }  # fmt: skip


def load_reward(directory: Path, config: LLMConfig | None = None):
    """``(model, tokenizer, meta)`` from a reward-model checkpoint; a broken one raises ``CheckpointError``."""
    model, tokenizer, meta = models.load_adapter(
        directory, KIND, config.model if config else None, models.load_sequence_classifier
    )
    return model.eval(), tokenizer, meta


def validate_reward(directory: Path, config: LLMConfig) -> dict:
    """Reload the staged checkpoint; it must give the probe pairs the scores the trained model gave."""
    model, tokenizer, meta = load_reward(directory, config)
    probe = meta["probe_pairs"]
    scores = score_texts(
        model, tokenizer, [p["prompt"] for p in probe], [p["chosen"] for p in probe],
        config.model.max_length, config.reward.batch_size,
    )  # fmt: skip
    expected = {f"probe_score_{i}": s for i, s in enumerate(meta["probe_scores"])}
    checkpoints.check_probe("reward_model", expected, {f"probe_score_{i}": float(s) for i, s in enumerate(scores)}, 1e-3)
    return {"probe_scores": scores.tolist()}


def main(params: dict, reporter) -> dict:
    config = steps.step_config(params)
    pairs, splits = steps.read_table(params, "preference_pairs"), steps.read_table(params, "preference_splits")
    history: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="reward-") as tmp:
        metrics = train_reward(config, pairs, splits, Path(tmp), lambda step, stats: history.append({"step": step, **stats}))
        reporter.publish(KIND, tmp, validate=lambda staged: validate_reward(staged, config))
    for key in ("eval_accuracy_by_source", "length_baseline_by_source"):
        metrics[key] = {"raw_value": metrics[key], "type": "json"}
    return {**metrics, "loss_curve": steps.md(plots.curves_markdown(history, ["train_loss"], "Reward model training loss"))}


if __name__ == "__main__":
    from resources.compute.entry import run_entry

    run_entry(main)
