"""Bad input through the assets: the run fails naming the file and the problem, nothing is written,
and the previous good materialization stays readable and byte-for-byte unchanged."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from retention_assets.data.sources import MIRROR_ENV, SOURCES
from retention_assets_tests.data.workspace import DataWorkspace, failure_message

TELCO = SOURCES["telco"].relpath
HH_HELPFUL = SOURCES["hh_rlhf_helpful"].relpath
BANK = SOURCES["bank"].relpath


def _truncated(data: bytes) -> bytes:
    return data[: len(data) - 3]  # mid-value in the last line: "...,No\r\n" becomes "...,N"


def _without_column(name: str) -> Callable[[bytes], bytes]:
    def drop(data: bytes) -> bytes:
        rows = [line.split(b",") for line in data.splitlines()]
        index = rows[0].index(name.encode())
        return b"\n".join(b",".join(r[:index] + r[index + 1 :]) for r in rows) + b"\n"

    return drop


def _wrong_type(data: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    fields = lines[100].split(b",")
    fields[5] = b"twelve"  # tenure, in data row 100 (line 101 of the file)
    lines[100] = b",".join(fields)
    return b"".join(lines)


def _flipped_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64]) + data[middle + 64 :]


@dataclass(frozen=True)
class Case:
    asset: str
    downstream: str
    source: str  # the mirror file the bad copy is made from
    config_key: str  # the data.* key that points the asset at the bad copy
    corrupt: Callable[[bytes], bytes]
    problem: tuple[str, ...]  # what the error message must say


CASES = {
    "truncated_csv": Case(
        "telco_customers", "customer_splits", TELCO, "telco_uri", _truncated,
        ("column 'Churn' has unexpected value(s) ['N'] (first in row 7044)", "the file looks truncated"),
    ),
    "missing_column": Case(
        "telco_customers", "customer_splits", TELCO, "telco_uri", _without_column("MonthlyCharges"),
        ("missing column(s) ['MonthlyCharges']",),
    ),
    "wrong_type": Case(
        "telco_customers", "customer_splits", TELCO, "telco_uri", _wrong_type,
        ("column 'tenure' must be int, row 101 has 'twelve'",),
    ),
    "empty_file": Case("telco_customers", "customer_splits", TELCO, "telco_uri", lambda _: b"", ("file is empty",)),
    "truncated_jsonl": Case(
        "sft_pairs", "sft_splits", SOURCES["oasst1"].relpath, "oasst1_uri", lambda data: data[: len(data) // 2],
        ("line 997 is not valid JSON", "the file may be truncated"),
    ),
    "binary_jsonl": Case(
        "sft_pairs", "sft_splits", SOURCES["oasst1"].relpath, "oasst1_uri", lambda data: data[:100] + b"\xff" + data[100:],
        ("is not UTF-8 text (byte 100)",),
    ),
    "corrupted_gzip": Case(
        "preference_pairs", "preference_splits", HH_HELPFUL, "hh_rlhf_uris", _flipped_middle,
        ("corrupted gzip stream",),
    ),
    "unreadable_zip": Case(
        "bank_contacts", "contact_splits", BANK, "bank_uri", lambda data: data[: len(data) // 2],
        ("unreadable zip archive",),
    ),
}  # fmt: skip


def _good_run(ws: DataWorkspace, assets: list[str]) -> dict[str, str]:
    """Materialize ``assets`` from the mirror; their tables' sha256, to compare after a bad run."""
    result = ws.materialize(assets)
    assert result.success, failure_message(result)
    return {asset: ws.digest(asset) for asset in assets}


def _assert_previous_run_intact(ws: DataWorkspace, before_files: list[str], digests: dict[str, str]) -> None:
    assert ws.stored_files() == before_files, "the failed run wrote or left files behind"
    for asset, digest in digests.items():
        assert ws.digest(asset) == digest, f"{asset} changed"
        assert len(ws.table(asset)) > 0, f"{asset} is no longer readable"


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_fails_naming_the_file_and_keeps_the_last_good_table(workspace, mirror, name):
    case = CASES[name]
    digests = _good_run(workspace, [case.asset, case.downstream])
    before = workspace.stored_files()

    bad = workspace.root / "incoming" / Path(case.source).name
    bad.parent.mkdir()
    bad.write_bytes(case.corrupt((mirror / case.source).read_bytes()))
    uri = [str(bad)] if case.config_key == "hh_rlhf_uris" else str(bad)
    result = workspace.materialize([case.asset, case.downstream], {case.config_key: uri})

    assert not result.success
    message = failure_message(result)
    assert f"{bad}: " in message and all(part in message for part in case.problem), message
    assert result.get_asset_materialization_events() == []
    _assert_previous_run_intact(workspace, before, digests)


def test_truncation_is_reported_as_such(workspace, mirror):
    bad = workspace.root / "cut.csv"
    data = (mirror / TELCO).read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    message = failure_message(workspace.materialize(["telco_customers"], {"telco_uri": str(bad)}))
    assert f"{bad}: row 3519 has no value in column(s)" in message and "the file looks truncated" in message
    assert workspace.stored_files() == []


def test_a_truncated_gzip_is_named(workspace, mirror):
    bad = workspace.root / "helpful-base" / "test.jsonl.gz"
    bad.parent.mkdir()
    data = (mirror / HH_HELPFUL).read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    message = failure_message(workspace.materialize(["preference_pairs"], {"hh_rlhf_uris": [str(bad)]}))
    assert f"{bad}: corrupted gzip stream: Compressed file ended" in message
    assert workspace.stored_files() == []


@pytest.mark.parametrize("source", ["telco", "hh_rlhf_helpful"])
def test_a_wrong_checksum_in_the_mirror_is_refused(workspace, mirror, monkeypatch, source):
    asset, downstream = {"telco": ("telco_customers", "customer_splits"),
                         "hh_rlhf_helpful": ("preference_pairs", "preference_splits")}[source]  # fmt: skip
    digests = _good_run(workspace, [asset, downstream])
    before = workspace.stored_files()

    # A mirror of its own with every needed file, one of them with a single byte changed.
    tampered = workspace.root / "mirror"
    for name in ("telco", "hh_rlhf_helpful", "hh_rlhf_harmless"):
        target = tampered / SOURCES[name].relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror / SOURCES[name].relpath, target)
    target = tampered / SOURCES[source].relpath
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    monkeypatch.setenv(MIRROR_ENV, str(tampered))

    message = failure_message(workspace.materialize([asset, downstream]))
    assert f"{target}: checksum mismatch" in message and f"expected {SOURCES[source].sha256}" in message
    _assert_previous_run_intact(workspace, before, digests)


def test_the_download_cache_is_used_and_verified_when_the_mirror_lacks_a_file(workspace, mirror, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, str(workspace.root / "empty-mirror"))
    cached = workspace.root / "cache" / TELCO
    cached.parent.mkdir(parents=True)
    shutil.copyfile(mirror / TELCO, cached)
    result = workspace.materialize(["telco_customers"])
    assert result.success, failure_message(result)
    assert workspace.table_path("telco_customers").exists()
    before = workspace.digest("telco_customers")

    cached.write_bytes(cached.read_bytes()[:-1])  # a download cut one byte short
    message = failure_message(workspace.materialize(["telco_customers"]))
    assert f"{cached}: checksum mismatch" in message and workspace.digest("telco_customers") == before
