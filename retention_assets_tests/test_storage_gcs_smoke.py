from resources.storage.object_store import GCSObjectStore


def test_gcs_object_store_roundtrip(gcs_bucket):
    store = GCSObjectStore(f"gs://{gcs_bucket}/prefix")
    store.put_bytes("a/b.txt", b"hello")
    assert store.get_bytes("a/b.txt") == b"hello"
    assert store.list("a") == ["a/b.txt"]
