"""The blob store both storage layers are written on: the same semantics on disk and in a bucket."""

from __future__ import annotations

import pytest

from resources.storage.object_store import LocalObjectStore, open_store, read_uri


def test_keys_list_and_delete_as_directories(root, raw):
    store = open_store(root)
    for key in ["runs/a/x.json", "runs/a/sub/y.json", "runs/ab/z.json", "other.txt"]:
        store.put_bytes(key, key.encode())
    assert store.list("runs/a") == ["runs/a/sub/y.json", "runs/a/x.json"]  # not runs/ab/
    assert store.list("runs/a/") == store.list("runs/a") and store.list("nothing") == []
    store.delete_prefix("runs/a")
    assert raw.keys() == ["other.txt", "runs/ab/z.json"]
    expected_dirs = [] if root.startswith("gs://") else ["runs", "runs/ab"]
    assert raw.directories() == expected_dirs, "emptied directories were left behind"
    store.delete("other.txt")
    store.delete("other.txt")  # deleting what is gone is not an error
    assert store.list("") == ["runs/ab/z.json"]


def test_a_missing_key_is_named(root):
    store = open_store(root)
    with pytest.raises(FileNotFoundError, match=f"{root.rstrip('/')}/models/none.bin does not exist"):
        store.get_bytes("models/none.bin")
    assert store.exists("models/none.bin") is False


def test_read_uri_reads_one_file_from_either_place(root):
    open_store(root).put_bytes("exports/customers.csv", b"customerID\n1\n")
    assert read_uri(f"{root.rstrip('/')}/exports/customers.csv") == b"customerID\n1\n"


def test_a_local_key_cannot_escape_the_root(tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    with pytest.raises(ValueError, match="escapes the store root"):
        store.put_bytes("../outside.txt", b"x")
    assert not (tmp_path / "outside.txt").exists()
