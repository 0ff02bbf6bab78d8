"""Model sources: a local directory, a gs:// prefix (on the GCS emulator), and clear errors."""

from __future__ import annotations

import shutil

import pytest

from retention_assets.llm import models
from retention_assets.llm.config import ModelSource
from resources.storage.object_store import open_store


def test_a_model_is_loaded_from_a_gcs_prefix(tiny_opt, gcs_bucket):
    store = open_store(f"gs://{gcs_bucket}/base/tiny-opt")
    for path in tiny_opt.iterdir():
        store.put_file(path.name, path)
    source = ModelSource(source=f"gs://{gcs_bucket}/base/tiny-opt")
    tokenizer = models.load_tokenizer(source)
    lm = models.load_causal_lm(source, tokenizer)
    local = models.load_causal_lm(ModelSource(source=str(tiny_opt)), tokenizer)
    assert tokenizer("A photo of a cat")["input_ids"] == [2, 250, 1345, 9, 10, 4758]
    assert all((a == b).all() for a, b in zip(lm.state_dict().values(), local.state_dict().values()))
    shutil.rmtree(models.CACHE / f"{gcs_bucket}_base_tiny-opt")  # the download cache of this bucket


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("${RETENTION_NO_SUCH_VAR}/model.gguf", "environment variable in it is not set"),
        ("/nonexistent/model.Q4_1.gguf", "GGUF file /nonexistent/model.Q4_1.gguf does not exist"),
        ("/nonexistent/model-dir", "directory /nonexistent/model-dir does not exist"),
    ],
)
def test_an_unusable_source_is_named(source, message):
    with pytest.raises(models.ModelSourceError, match=message):
        models.resolve(source)
