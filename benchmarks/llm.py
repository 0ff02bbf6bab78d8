"""LLM benchmarks: our SFT and PPO against TRL in the same run, and the reward model's accuracy.

    RETENTION_MIRROR=../shared/data .venv/bin/python benchmarks/llm.py [--threads 2] [--quick]

1. SFT tokens/s: our loop vs TRL ``SFTTrainer``, same model (SmolLM2-135M-Instruct from the
   mirror), same OASST1 pairs, same LoRA config, batch size, max length and precision
   (``--precision``; TRL's own defaults, bf16 autocast and activation checkpointing, are
   overridden to match), ``--sft-epochs`` each; tokens are the non-padding tokens each trainer fed
   the model. Ratio = ours / TRL.
2. PPO: our PPO vs TRL ``RLOOTrainer`` driven by the same reward model (trained here on HH),
   same prompts (real telco customers), rollouts per step, response length and LoRA; one
   update epoch per batch for both (RLOO's ``num_iterations=1``). Reports seconds per step,
   rollouts/s end to end, and each one's score gain with the KL per response it cost.
3. Reward model held-out pairwise accuracy on the mirrored HH test files (our seeded split:
   train on ``train``, measure on ``validation``) against the length-only baseline.
4. ``--arch opt-350m``: the same benchmark on the OPT-350m architecture (random weights, the
   mirrored OPT tokenizer), meant for a GPU in bf16. With CUDA present every step runs there
   (ours and TRL's alike) and the SFT figures get a model-FLOPs utilisation (MFU, ``mfu()``);
   without CUDA the MFU is recorded as not run.

Prints one line per figure, and all figures as JSON on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from retention_assets.data import oasst1, preferences, telco  # noqa: E402
from retention_assets.data.splits import group_split, stratified_split  # noqa: E402
from retention_assets.llm import models, ppo, prompts, reward, sft  # noqa: E402
from retention_assets.llm.config import LLMConfig  # noqa: E402
from retention_assets.llm.text import format_prompt, format_response  # noqa: E402

FRACTIONS = {"train": 0.6, "validation": 0.1, "calibration": 0.1, "test": 0.2}
LORA = {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}


def mirror() -> Path:
    value = os.environ.get("RETENTION_MIRROR")
    if not value:
        sys.exit("set RETENTION_MIRROR to the offline mirror (e.g. ../shared/data)")
    return Path(value).expanduser()


def load_tables(root: Path):
    path = root / "oasst1" / "oasst1_validation_en.jsonl"
    pairs = oasst1.parse_oasst1(path.read_bytes(), str(path))
    sft_splits = group_split(pairs["pair_id"], pairs["message_tree_id"], FRACTIONS, 42)
    frames = []
    for subset in ("helpful-base", "harmless-base"):
        path = root / "hh_rlhf" / subset / "test.jsonl.gz"
        frames.append(preferences.parse_hh_rlhf(path.read_bytes(), str(path), f"hh-rlhf/{subset}"))
    prefs = pd.concat(frames, ignore_index=True)
    pref_splits = stratified_split(prefs["pair_id"], prefs["source"], FRACTIONS, 42)
    path = root / "telco" / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
    customers, _ = telco.parse_telco(path.read_bytes(), str(path))
    return (pairs, sft_splits), (prefs, pref_splits), customers


def bench_sft(config: LLMConfig, pairs: pd.DataFrame, splits: pd.DataFrame, rounds: int) -> dict:
    """Tokens/s of ``sft.epochs`` epochs each, alternating ours and TRL ``rounds`` times; the best of each
    counts, so a neighbour's burst on a shared machine penalises neither side."""
    train, _ = sft.select_pairs(pairs, splits, config)
    ours, theirs = [], []
    for _ in range(rounds):
        tokens, seconds = _sft_ours(config, train)
        ours.append(tokens / seconds)
        trl_tokens, trl_seconds = _sft_trl(config, train)
        theirs.append(trl_tokens / trl_seconds)
    return {"sft_pairs": len(train), "sft_rounds": rounds, "sft_tokens_per_s_ours": max(ours),
            "sft_tokens_per_s_trl": max(theirs), "sft_tokens_per_s_ratio": max(ours) / max(theirs),
            "sft_tokens_ours": tokens, "sft_tokens_trl": trl_tokens}  # fmt: skip


def _sft_ours(config: LLMConfig, train: pd.DataFrame) -> tuple[int, float]:
    from peft import TaskType

    tokenizer = models.load_tokenizer(config.model)
    items = sft.encode(tokenizer, train, config.model.max_length)
    model = models.with_lora(models.load_causal_lm(config.model, tokenizer), config.sft.lora, TaskType.CAUSAL_LM)
    run = sft.train_steps(model, items, config, tokenizer.pad_token_id, lambda *_: None)
    return run["tokens"], run["seconds"]


def _sft_trl(config: LLMConfig, train: pd.DataFrame) -> tuple[int, float]:
    """TRL ``SFTTrainer`` on the same prompt/completion strings: completion-only loss, same LoRA,
    batch size, max length, learning rate and gradient clipping."""
    from datasets import Dataset
    from peft import TaskType
    from trl import SFTConfig, SFTTrainer

    tokenizer = models.load_tokenizer(config.model)
    data = Dataset.from_dict({"prompt": [format_prompt(p) for p in train["prompt"]],
                              "completion": [format_response(r) + tokenizer.eos_token for r in train["response"]]})  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        args = SFTConfig(
            output_dir=tmp, per_device_train_batch_size=config.sft.batch_size, num_train_epochs=config.sft.epochs,
            learning_rate=config.sft.learning_rate, max_length=config.model.max_length, packing=False,
            completion_only_loss=True, report_to=[], save_strategy="no", logging_steps=10_000,
            use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0, lr_scheduler_type="constant",
            warmup_steps=0, max_grad_norm=1.0, seed=config.sft.seed, disable_tqdm=True,
            # TRL defaults to bf16 autocast and activation checkpointing; match our loop instead.
            bf16=config.autocast_bf16, gradient_checkpointing=False,
        )  # fmt: skip
        trainer = SFTTrainer(
            model=models.load_causal_lm(config.model, tokenizer), args=args, train_dataset=data,
            processing_class=tokenizer, peft_config=models.lora_config(config.sft.lora, TaskType.CAUSAL_LM),
        )  # fmt: skip
        tokens = config.sft.epochs * sum(len(ids) for ids in trainer.train_dataset["input_ids"])
        start = time.perf_counter()
        trainer.train()
        return tokens, time.perf_counter() - start


def bench_reward(config: LLMConfig, prefs: pd.DataFrame, splits: pd.DataFrame, out: Path) -> dict:
    metrics = reward.train_reward(config, prefs, splits, out)
    return {
        "rm_eval_accuracy": metrics["eval_accuracy"], "rm_eval_accuracy_before": metrics["eval_accuracy_before"],
        "rm_length_baseline_accuracy": metrics["length_baseline_accuracy"], "rm_eval_pairs": metrics["eval_pairs"],
        "rm_train_pairs": metrics["train_pairs"], "rm_accuracy_by_source": metrics["eval_accuracy_by_source"],
        "rm_mean_margin": metrics["eval_mean_margin"], "rm_train_seconds": metrics["train_seconds"],
    }  # fmt: skip


def bench_ppo(config: LLMConfig, customers: pd.DataFrame, reward_dir: Path) -> dict:
    from datasets import Dataset
    from peft import TaskType
    from trl import RLOOConfig, RLOOTrainer

    s = config.ppo
    tokenizer = models.load_tokenizer(config.model)
    rm, rm_tokenizer, _ = reward.load_reward(reward_dir, config)
    score = reward.scorer(rm, rm_tokenizer, config.model.max_length, s.minibatch_size)
    # No risk_model is trained here: the contract type's churn rate stands in for its score.
    scenarios = prompts.scenarios(prompts.with_contract_risk(customers), config.offers, config.scenarios,
                                  s.rollouts_per_step * s.steps, seed=s.seed)  # fmt: skip
    batches = [scenarios[i * s.rollouts_per_step : (i + 1) * s.rollouts_per_step] for i in range(s.steps)]
    # Ours.
    trainer = ppo.PPOTrainer(config, models.load_causal_lm(config.model, tokenizer), tokenizer, score)
    history = ppo.train_ppo(trainer, lambda step: batches[max(step, 0)])
    ours_step = sum(h["step_seconds"] for h in history) / len(history)
    # TRL RLOO: 2 completions per prompt (the fewest RLOO allows), the same number of rollouts per step.
    generations = 2
    data = Dataset.from_dict({"prompt": [format_prompt(sc.prompt) for sc in scenarios[: len(scenarios) // generations]]})

    def reward_fn(prompts, completions, **_):
        return score(prompts, completions).tolist()

    with tempfile.TemporaryDirectory() as tmp:
        args = RLOOConfig(
            output_dir=tmp, per_device_train_batch_size=s.rollouts_per_step, num_generations=generations,
            max_completion_length=s.max_new_tokens, temperature=s.temperature, top_k=0, top_p=1.0,
            learning_rate=s.learning_rate, beta=s.kl.init_beta, num_iterations=1, max_steps=s.steps,
            report_to=[], save_strategy="no", logging_steps=1, use_cpu=not torch.cuda.is_available(),
            dataloader_num_workers=0, seed=s.seed, disable_dropout=True,
            bf16=False, gradient_checkpointing=False,  # our PPO runs fp32 without checkpointing
        )  # fmt: skip
        rloo = RLOOTrainer(
            model=models.load_causal_lm(config.model, tokenizer), reward_funcs=reward_fn, args=args,
            train_dataset=data, processing_class=tokenizer,
            peft_config=models.lora_config(s.lora, TaskType.CAUSAL_LM),
        )  # fmt: skip
        start = time.perf_counter()
        rloo.train()
        trl_seconds = time.perf_counter() - start
    logs = [row for row in rloo.state.log_history if "reward" in row]
    trl_step = trl_seconds / s.steps
    return {
        "ppo_steps": s.steps, "ppo_rollouts_per_step": s.rollouts_per_step, "ppo_max_new_tokens": s.max_new_tokens,
        "ppo_seconds_per_step_ours": ours_step, "ppo_seconds_per_step_trl_rloo": trl_step,
        "ppo_step_time_ratio_trl_over_ours": trl_step / ours_step,
        "ppo_rollouts_per_s_ours": s.rollouts_per_step / ours_step, "ppo_rollouts_per_s_trl_rloo": s.rollouts_per_step / trl_step,
        "ppo_generation_rollouts_per_s_ours": sum(h["rollouts_per_s"] for h in history) / len(history),
        "ppo_score_first_ours": history[0]["score"], "ppo_score_last_ours": history[-1]["score"],
        "ppo_kl_per_response_last_ours": history[-1]["kl"], "ppo_beta_last_ours": history[-1]["beta"],
        **_gain_per_kl("ours", [h["score"] for h in history], [h["kl"] for h in history]),
        # RLOO logs the mean per-token KL; times the mean completion length it is per response, like ours.
        **_gain_per_kl("trl_rloo", [r["reward"] for r in logs], [r["kl"] * r["completions/mean_length"] for r in logs]),
    }  # fmt: skip


def _gain_per_kl(who: str, scores: list[float], kls: list[float]) -> dict:
    """Reward-model score gain (mean of the last third of steps minus the first third) and the KL
    per response it cost (mean over the last third): the two trainers end at different KLs, so
    the gain per nat puts them on one scale."""
    k = max(1, len(scores) // 3)
    gain, kl = sum(scores[-k:]) / k - sum(scores[:k]) / k, sum(kls[-k:]) / k
    return {f"ppo_score_gain_{who}": gain, f"ppo_kl_per_response_{who}": kl, f"ppo_gain_per_nat_{who}": gain / kl if kl > 0 else None}


# facebook/opt-350m's config.json: 24 layers, d_model 1024, FFN 4096, 16 heads, embeddings
# projected from 512, vocabulary 50272.
OPT_350M = {"hidden_size": 1024, "ffn_dim": 4096, "num_hidden_layers": 24, "num_attention_heads": 16,
            "word_embed_proj_dim": 512, "max_position_embeddings": 2048, "do_layer_norm_before": False}  # fmt: skip
# Dense bf16 tensor-core peak of the H100/H200 SXM (NVIDIA H100 and H200 datasheets), no sparsity.
PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12}


def opt_350m(root: Path, out: Path) -> Path:
    """OPT-350m's architecture with random weights and the mirrored OPT tokenizer, as a local model."""
    from transformers import AutoTokenizer, OPTConfig, OPTForCausalLM

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(root / "tokenizers" / "opt")
    config = OPTConfig(vocab_size=50272, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                       eos_token_id=tokenizer.eos_token_id, **OPT_350M)  # fmt: skip
    OPTForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def mfu(figures: dict, model_dir: Path, max_length: int) -> dict:
    """Model FLOPs utilisation of the SFT runs against the GPU's dense bf16 peak.

    Per trained token: forward = 2·N (N = weights in matrix products, LM head included) + 4·L·d·T
    for attention scores and values at context T (taken as half of ``max_length``, the mean
    position of a full sequence); backward = the same again, because LoRA leaves the base weights
    frozen and only activation gradients flow (its own weight gradients are under 1 %). The common
    6·N convention (full fine-tuning) is reported as well, for comparison with published MFUs."""
    if not torch.cuda.is_available():
        return {"gpu_mfu": "not run: no CUDA device in this run"}
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(model_dir)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    matmul_params = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    attention = 4 * config.num_hidden_layers * config.hidden_size * (max_length / 2)
    per_token, per_token_6n = 2 * (2 * matmul_params + attention), 6 * matmul_params + 2 * attention
    name = torch.cuda.get_device_name()
    peak = next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), None)
    out = {"gpu": name, "gpu_matmul_params": matmul_params, "gpu_flops_per_token": per_token}
    for who in ("ours", "trl"):
        rate = figures.get(f"sft_tokens_per_s_{who}")
        if rate and peak:
            out[f"gpu_mfu_{who}"] = rate * per_token / peak
            out[f"gpu_mfu_6n_{who}"] = rate * per_token_6n / peak
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sft-pairs", type=int, default=48)
    parser.add_argument("--rm-train-pairs", type=int, default=512)
    parser.add_argument("--rm-eval-pairs", type=int, default=256)
    parser.add_argument("--ppo-steps", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--sft-rounds", type=int, default=2)
    parser.add_argument("--precision", choices=["bf16", "fp32"], default="bf16", help="training precision, ours and TRL alike")
    parser.add_argument("--parts", default="sft,rm,ppo", help="comma-separated subset of sft,rm,ppo (ppo needs rm)")
    parser.add_argument("--arch", choices=["smollm2", "opt-350m"], default="smollm2",
                        help="smollm2: the mirrored SmolLM2-135M-Instruct; opt-350m: OPT-350m's architecture, random weights")
    parser.add_argument("--batch-size", type=int, default=8, help="SFT and reward-model pairs per step")
    parser.add_argument("--sft-epochs", type=int, default=1, help="epochs per SFT round (ours and TRL alike)")
    cli = parser.parse_args()
    torch.set_num_threads(cli.threads)
    root = mirror()
    (pairs, sft_splits), (prefs, pref_splits), customers = load_tables(root)
    workdir = Path(tempfile.mkdtemp(prefix="llm-bench-"))
    if cli.arch == "opt-350m":
        source, model_name = str(opt_350m(root, workdir / "opt-350m")), "OPT-350m architecture (random weights)"
    else:
        source = str(root / "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf")
        model_name = "SmolLM2-135M-Instruct (mirror GGUF, dequantised fp32)"
    config = LLMConfig.model_validate({
        "model": {"source": source, "max_length": cli.max_length},
        "sft": {"lora": LORA, "batch_size": cli.batch_size, "learning_rate": 2e-4, "max_train_pairs": cli.sft_pairs, "epochs": cli.sft_epochs},
        # The local profile's reward settings: LoRA on the top 10 layers, the score head at its own rate.
        "reward": {"lora": {**LORA, "top_layers": 10}, "batch_size": cli.batch_size, "learning_rate": 3e-4,
                   "head_learning_rate": 2e-3, "max_train_pairs": cli.rm_train_pairs,
                   "max_eval_pairs": cli.rm_eval_pairs, "micro_batch_size": 4},
        "ppo": {"lora": LORA, "steps": cli.ppo_steps, "rollouts_per_step": 8, "minibatch_size": 8, "ppo_epochs": 1,
                "max_new_tokens": 32, "learning_rate": 1e-4},
        "autocast_bf16": cli.precision == "bf16",
    })  # fmt: skip
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    figures = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {cli.threads}, {device}, {cli.precision}",
               "date": time.strftime("%Y-%m-%d"), "model": model_name, "torch": torch.__version__}  # fmt: skip
    parts = set(cli.parts.split(","))
    if "sft" in parts:
        figures.update(bench_sft(config, pairs, sft_splits, cli.sft_rounds))
        print(f"SFT tokens/s ours {figures['sft_tokens_per_s_ours']:.0f}, TRL {figures['sft_tokens_per_s_trl']:.0f}, ratio {figures['sft_tokens_per_s_ratio']:.2f}", flush=True)
        figures.update(mfu(figures, Path(source), cli.max_length) if cli.arch == "opt-350m" else {})
    if "rm" in parts:
        figures.update(bench_reward(config, prefs, pref_splits, workdir / "reward"))
        print(f"RM held-out accuracy {figures['rm_eval_accuracy']:.3f} (length baseline {figures['rm_length_baseline_accuracy']:.3f})", flush=True)
    if "ppo" in parts:
        figures.update(bench_ppo(config, customers, workdir / "reward"))
        print(f"PPO s/step ours {figures['ppo_seconds_per_step_ours']:.1f}, TRL RLOO {figures['ppo_seconds_per_step_trl_rloo']:.1f}", flush=True)
    shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
