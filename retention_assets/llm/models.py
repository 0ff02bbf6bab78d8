"""Loading base models and tokenizers from any source, and attaching LoRA adapters.

A source is a Hugging Face id, a local directory, a ``gs://`` prefix (downloaded once into the
cache) or a ``.gguf`` file (transformers dequantises it to ordinary torch weights).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

from retention_assets.llm import checkpoints
from retention_assets.llm.config import LoraSettings, ModelSource


CACHE = Path(tempfile.gettempdir()) / "retention-models"


class ModelSourceError(ValueError):
    """A model source that cannot be resolved; the message names it."""


def resolve(source: str) -> tuple[str, dict]:
    """``(path_or_id, extra from_pretrained kwargs)`` for a model source."""
    expanded = os.path.expandvars(source)
    if "$" in expanded:
        raise ModelSourceError(f"model source {source!r}: an environment variable in it is not set")
    if expanded.startswith("gs://"):
        return str(_download_gcs(expanded)), {}
    path = Path(expanded).expanduser()
    if expanded.endswith(".gguf"):
        if not path.is_file():
            raise ModelSourceError(f"model source {source!r}: GGUF file {path} does not exist")
        return str(_dequantised(path)), {}
    if path.is_dir() or path.is_absolute() or expanded.startswith("."):
        if not path.is_dir():
            raise ModelSourceError(f"model source {source!r}: directory {path} does not exist")
        return str(path), {}
    return expanded, {}  # a Hugging Face id


def _dequantised(gguf: Path) -> Path:
    """A safetensors copy of a GGUF model and its tokenizer, made once per file.

    Dequantising and parsing the GGUF tokenizer take about 20 s for SmolLM2-135M on two CPU
    cores; every step and validation hook loads the base model again, so they share this copy."""
    stat = gguf.stat()
    target = CACHE / f"{gguf.stem}-{stat.st_size}-{int(stat.st_mtime)}"
    if not (target / "config.json").is_file():
        tmp = Path(tempfile.mkdtemp(prefix=f".{gguf.stem}.", dir=_ensure(CACHE)))
        AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(tmp)
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        # The weights are already plain float32; a fresh model of the same config saves them
        # without the GGUF quantizer that refuses to serialise.
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(loaded.state_dict())
        model.save_pretrained(tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process made it first
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _download_gcs(uri: str) -> Path:
    from resources.storage.object_store import open_store

    store = open_store(uri)
    keys = store.list("")
    if not keys:
        raise ModelSourceError(f"model source {uri}: no files under this prefix")
    target = CACHE / uri.removeprefix("gs://").replace("/", "_")
    for key in keys:
        path = target / key
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(store.get_bytes(key))
    return target


def load_tokenizer(model: ModelSource):
    path, extra = resolve(model.tokenizer or model.source)
    tokenizer = AutoTokenizer.from_pretrained(path, **extra)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(model: ModelSource, tokenizer) -> torch.nn.Module:
    path, extra = resolve(model.source)
    lm = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, **extra)
    lm.config.pad_token_id = tokenizer.pad_token_id
    return lm.to(device())


def load_sequence_classifier(model: ModelSource, tokenizer) -> torch.nn.Module:
    """The base model with a fresh scalar score head (``num_labels=1``)."""
    path, extra = resolve(model.source)
    clf = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=torch.float32, **extra)
    clf.config.pad_token_id = tokenizer.pad_token_id
    return clf.to(device())


def lora_config(settings: LoraSettings, task: TaskType, num_layers: int | None = None) -> LoraConfig:
    """peft's config; ``num_layers`` (the model's depth) is needed when ``settings.top_layers`` is set."""
    layers = None
    if settings.top_layers is not None:
        if num_layers is None:
            raise ValueError("lora.top_layers needs the model's number of layers")
        layers = list(range(max(num_layers - settings.top_layers, 0), num_layers))
    # For SEQ_CLS peft adds the score head to modules_to_save, so it is trained and saved in full.
    return LoraConfig(
        task_type=task, r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
        target_modules=settings.target_modules, layers_to_transform=layers,
    )  # fmt: skip


def with_lora(model: torch.nn.Module, settings: LoraSettings, task: TaskType) -> PeftModel:
    depth = model.config.get_text_config().num_hidden_layers
    return get_peft_model(model, lora_config(settings, task, depth))


def load_sft_model(model: ModelSource, tokenizer, adapter_dir: Path) -> torch.nn.Module:
    """The base model with the SFT adapter merged in: the start of PPO and its frozen reference."""
    base = load_causal_lm(model, tokenizer)
    return PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()


def device() -> torch.device:
    """Where the steps run: the GPU when the job has one (a Vertex GPU job), else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def on_device(batch: dict[str, torch.Tensor], model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A collated batch moved to the model's device."""
    return {key: value.to(model.device) for key, value in batch.items()}


def autocast(enabled: bool):
    """bf16 mixed precision for a training forward pass (fp32 weights, bf16 matmuls)."""
    return torch.autocast(device().type, dtype=torch.bfloat16, enabled=enabled)


def set_threads(threads: int) -> None:
    if threads:
        torch.set_num_threads(threads)


def load_adapter(directory: Path, kind: str, source: ModelSource | None, build_base):
    """``(model, tokenizer, meta)`` of a PEFT checkpoint of ``kind`` on ``build_base(source, tokenizer)``.

    ``source`` defaults to the base model the checkpoint records; a broken checkpoint raises
    ``CheckpointError``.
    """

    def load(path: Path):
        meta = checkpoints.read_meta(path, kind)
        base_source = source or ModelSource(**meta["base"])
        tokenizer = load_tokenizer(base_source)
        model = PeftModel.from_pretrained(build_base(base_source, tokenizer), str(path))
        return model, tokenizer, meta

    return checkpoints.guarded_load(directory, load)
