"""Checksum-verified, atomic, retried file transfers (HTTP(S), file:// and local mirrors).

A destination file either holds the complete, verified content or does not exist: bytes go to a
temporary file beside it, which is renamed into place only after its size and digest check out.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = [
    "DownloadError",
    "ChecksumError",
    "parse_checksum",
    "file_digest",
    "verify_checksum",
    "fetch",
    "copy_verified",
]

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_USER_AGENT = "modality-gap-workflow/0.1 (+https://github.com/Weixin-Liang/Modality-Gap)"


class DownloadError(RuntimeError):
    """A transfer failed for good (after retries)."""


class ChecksumError(DownloadError):
    """The bytes received do not match the pinned digest."""


def parse_checksum(checksum: str) -> tuple[str, str]:
    """Split ``"md5:<hex>"`` or ``"sha256:<hex>"`` into ``(algorithm, hexdigest)``."""
    algo, sep, digest = checksum.partition(":")
    sizes = {"md5": 32, "sha256": 64}
    if not sep or algo not in sizes or len(digest) != sizes[algo]:
        raise ValueError(f"checksum {checksum!r} is not of the form md5:<32 hex> or sha256:<64 hex>")
    int(digest, 16)  # raises ValueError on non-hex
    return algo, digest.lower()


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of the file at ``path``."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_checksum(path: str | os.PathLike, checksum: str, what: str | None = None) -> None:
    """Raise :class:`ChecksumError` unless the file's digest equals ``checksum``."""
    algo, expected = parse_checksum(checksum)
    got = file_digest(path, algo)
    if got != expected:
        raise ChecksumError(
            f"{what or path}: {algo} checksum mismatch (expected {expected}, got {got}). The file is "
            "corrupt or was changed upstream; it was not kept. If the upstream file legitimately "
            "changed, update its checksum in the config."
        )


def _tmp_beside(dest: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    return Path(name)


def _transfer(url: str, tmp: Path, timeout: float) -> int:
    """Stream ``url`` into ``tmp``; return bytes written. Raises on a short read."""
    req = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with urllib.request.urlopen(req, timeout=timeout) as resp, open(tmp, "wb") as out:
        length = resp.headers.get("Content-Length")
        expected = int(length) if length is not None and length.isdigit() else None
        written = 0
        while True:
            chunk = resp.read(_CHUNK)
            if not chunk:
                break
            out.write(chunk)
            written += len(chunk)
        if expected is not None and written != expected:
            raise DownloadError(f"{url}: truncated transfer ({written} of {expected} bytes received)")
    return written


def copy_verified(src: str | os.PathLike, dest: str | os.PathLike, checksum: str) -> Path:
    """Copy a local file (e.g. from a mirror) to ``dest`` atomically, verifying ``checksum``."""
    src, dest = Path(src), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_beside(dest)
    try:
        shutil.copyfile(src, tmp)
        verify_checksum(tmp, checksum, what=str(src))
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def fetch(
    url: str,
    dest: str | os.PathLike,
    checksum: str,
    *,
    retries: int = 3,
    timeout: float = 60.0,
    mirrors: list[str | os.PathLike] | tuple = (),
    backoff: float = 1.0,
) -> Path:
    """Fetch ``url`` into ``dest``, verified against ``checksum``, atomically.

    Parameters
    ----------
    url : str
        ``http(s)://`` or ``file://`` address.
    dest : path
        Final file. It exists afterwards only if the transfer completed and verified.
    checksum : str
        ``"md5:<hex>"`` or ``"sha256:<hex>"``.
    retries : int
        Further attempts after a failed transfer (network errors, short reads). A checksum
        mismatch is retried too (a corrupted transfer), then reported.
    timeout : float
        Socket timeout per attempt, in seconds.
    mirrors : sequence of paths
        Local folders searched for a file named ``dest.name`` before the URL is contacted.
    backoff : float
        Seconds before the first retry; doubled after each.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    ChecksumError
        The content never matched the checksum.
    DownloadError
        Every attempt failed; the message lists the last error.
    """
    parse_checksum(checksum)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    for mirror in mirrors:
        candidate = Path(mirror).expanduser() / dest.name
        if candidate.is_file():
            log.info("using mirror copy %s", candidate)
            return copy_verified(candidate, dest, checksum)

    last: Exception | None = None
    for attempt in range(retries + 1):
        tmp = _tmp_beside(dest)
        try:
            log.info("downloading %s (attempt %d of %d)", url, attempt + 1, retries + 1)
            n = _transfer(url, tmp, timeout)
            verify_checksum(tmp, checksum, what=url)
            os.replace(tmp, dest)
            log.info("saved %s (%d bytes, checksum ok)", dest, n)
            return dest
        except urllib.error.HTTPError as exc:
            last = exc
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                break  # a missing or forbidden file does not come back by retrying
        except (OSError, DownloadError) as exc:  # URLError, timeouts, resets, short reads, checksum
            last = exc
        finally:
            tmp.unlink(missing_ok=True)
        log.warning("attempt %d failed: %s", attempt + 1, last)
        if attempt < retries:
            time.sleep(backoff * 2**attempt)
    if isinstance(last, ChecksumError):
        raise last
    raise DownloadError(
        f"could not download {url} after {attempt + 1} attempt(s): {last}. Check the network and the "
        f"URL, or put the file in a folder listed in downloads.mirrors (file name {dest.name})."
    ) from last
