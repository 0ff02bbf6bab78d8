"""Dagster resources for storage: a table IO manager and the artifact store.

Asset outputs are stored without pickle: DataFrames as Parquet, everything else as JSON
(artifact references, small reports). A value of any other type is refused at write time.
"""

from __future__ import annotations

import io
import json
from dataclasses import is_dataclass

import dagster as dg
import pandas as pd

from resources.storage.artifacts import ArtifactRef, ArtifactStore
from resources.storage.object_store import ObjectStore, open_store


class TableIOManager(dg.ConfigurableIOManager):
    """Parquet for DataFrames and JSON for plain values, under ``root`` (a directory or gs://)."""

    root: str

    def _store(self) -> ObjectStore:
        return open_store(self.root)

    @staticmethod
    def _key(asset_key: dg.AssetKey, suffix: str) -> str:
        return "tables/" + "/".join(asset_key.path) + suffix

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:
            return
        store = self._store()
        if isinstance(obj, pd.DataFrame):
            buffer = io.BytesIO()
            obj.to_parquet(buffer, index=False)
            key, stale = self._key(context.asset_key, ".parquet"), self._key(context.asset_key, ".json")
            store.put_bytes(key, buffer.getvalue())
        else:
            key, stale = self._key(context.asset_key, ".json"), self._key(context.asset_key, ".parquet")
            try:
                data = json.dumps(_to_jsonable(obj), indent=2, sort_keys=True).encode()
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"asset {context.asset_key.to_user_string()}: cannot store a {type(obj).__name__} "
                    f"({exc}); return a DataFrame, an ArtifactRef or JSON-serialisable data (never pickle)"
                ) from exc
            store.put_bytes(key, data)
        # An asset whose value changed kind must not be read back in its old form.
        store.delete(stale)
        context.add_output_metadata({"uri": dg.MetadataValue.path(store.uri(key))})

    def load_input(self, context: dg.InputContext):
        store = self._store()
        key = self._key(context.asset_key, ".parquet")
        if store.exists(key):
            return pd.read_parquet(io.BytesIO(store.get_bytes(key)))
        key = self._key(context.asset_key, ".json")
        if store.exists(key):
            data = json.loads(store.get_bytes(key))
            return ArtifactRef.from_dict(data) if _is_artifact_ref(data) else data
        raise FileNotFoundError(
            f"no stored value for asset {context.asset_key.to_user_string()} under {store.root}: "
            "materialize it first"
        )


def _is_artifact_ref(data) -> bool:
    return isinstance(data, dict) and set(data) == {"name", "version", "uri"}


def _to_jsonable(obj):
    if isinstance(obj, ArtifactRef):
        return obj.to_dict()
    if is_dataclass(obj):
        raise TypeError(f"{type(obj).__name__} is not storable: return a dict or an ArtifactRef")
    return obj  # json.dumps refuses anything JSON cannot hold; never fall back to pickle


class ArtifactStoreResource(dg.ConfigurableResource):
    """The artifact store for model checkpoints under ``root`` (a directory or gs://)."""

    root: str
    cache_dir: str | None = None

    def get(self) -> ArtifactStore:
        return ArtifactStore.at(self.root, self.cache_dir)
