"""Downloads against a real HTTP server on 127.0.0.1: success, checksum mismatch, truncation, retries."""

import hashlib

import pytest
from httpserver import FileServer

from modality_gap.download import ChecksumError, DownloadError, fetch, parse_checksum, verify_checksum

PAYLOAD = bytes(range(256)) * 400  # 100 KiB


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "file.bin").write_bytes(PAYLOAD)
    return root


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_success_writes_verified_file(served, tmp_path):
    dest = tmp_path / "out" / "file.bin"
    with FileServer(served) as srv:
        fetch(f"{srv.url}/file.bin", dest, sha256(PAYLOAD), retries=0)
    assert dest.read_bytes() == PAYLOAD
    assert leftovers(dest.parent) == ["file.bin"]


def test_md5_checksums_are_accepted(served, tmp_path):
    dest = tmp_path / "file.bin"
    with FileServer(served) as srv:
        fetch(f"{srv.url}/file.bin", dest, "md5:" + hashlib.md5(PAYLOAD).hexdigest(), retries=0)
    assert dest.read_bytes() == PAYLOAD


def test_checksum_mismatch_leaves_no_file(served, tmp_path):
    dest = tmp_path / "file.bin"
    with FileServer(served) as srv:
        with pytest.raises(ChecksumError, match="checksum mismatch") as err:
            fetch(f"{srv.url}/file.bin", dest, sha256(b"something else"), retries=1, backoff=0)
        assert srv.hits["file.bin"] == 2  # a corrupt transfer is retried once, then reported
    assert "file.bin" in str(err.value)
    assert leftovers(tmp_path) == ["www"]


def test_truncated_transfer_leaves_no_file(served, tmp_path):
    dest = tmp_path / "file.bin"
    with FileServer(served, truncate={"file.bin"}) as srv:
        with pytest.raises(DownloadError, match="truncated|IncompleteRead|after 3 attempt"):
            fetch(f"{srv.url}/file.bin", dest, sha256(PAYLOAD), retries=2, backoff=0)
        assert srv.hits["file.bin"] == 3
    assert leftovers(tmp_path) == ["www"]


def test_transient_errors_are_retried(served, tmp_path):
    dest = tmp_path / "file.bin"
    with FileServer(served, fail_first={"file.bin": 2}) as srv:
        fetch(f"{srv.url}/file.bin", dest, sha256(PAYLOAD), retries=2, backoff=0)
        assert srv.hits["file.bin"] == 3
    assert dest.read_bytes() == PAYLOAD


def test_missing_file_is_not_retried(served, tmp_path):
    dest = tmp_path / "nothere.bin"
    with FileServer(served) as srv:
        with pytest.raises(DownloadError, match="404"):
            fetch(f"{srv.url}/nothere.bin", dest, sha256(PAYLOAD), retries=3, backoff=0)
        assert srv.hits["nothere.bin"] == 1
    assert leftovers(tmp_path) == ["www"]


def test_mirror_is_used_before_the_url(served, tmp_path):
    dest = tmp_path / "out" / "file.bin"
    fetch("http://127.0.0.1:9/unreachable/file.bin", dest, sha256(PAYLOAD), retries=0, mirrors=[served])
    assert dest.read_bytes() == PAYLOAD


def test_corrupt_mirror_copy_is_rejected(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "file.bin").write_bytes(PAYLOAD[:-1])
    dest = tmp_path / "out" / "file.bin"
    with pytest.raises(ChecksumError):
        fetch("http://127.0.0.1:9/file.bin", dest, sha256(PAYLOAD), retries=0, mirrors=[mirror])
    assert leftovers(dest.parent) == []


def test_unreachable_host_names_the_url_and_the_fix(tmp_path):
    with pytest.raises(DownloadError, match="downloads.mirrors"):
        fetch("http://127.0.0.1:9/x.bin", tmp_path / "x.bin", sha256(PAYLOAD), retries=0, timeout=2)


@pytest.mark.parametrize("bad", ["abc", "md5:xyz", "sha1:" + "0" * 40, "sha256:" + "0" * 63])
def test_malformed_checksums_are_rejected(bad):
    with pytest.raises(ValueError, match="checksum"):
        parse_checksum(bad)


def test_verify_checksum(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(PAYLOAD)
    verify_checksum(f, sha256(PAYLOAD))
    with pytest.raises(ChecksumError):
        verify_checksum(f, sha256(PAYLOAD + b"x"))
