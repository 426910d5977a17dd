"""Resumable, checksum-verified downloads and safe archive extraction.

- ``download``: HTTP(S) into ``<dest>.part`` with Range requests, so an interrupted transfer
  resumes where it stopped; the file is renamed to ``dest`` only after its md5 matches.
- ``extract``: unpacks into a temporary folder beside the target and renames it into place,
  so a corrupt archive never leaves a half-made tree; a ``.complete`` marker makes re-runs skip.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import logging
import os
import shutil
import tarfile
import time
import urllib.error
import urllib.request
from typing import Dict, Optional

logger = logging.getLogger(__name__)

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download that failed, or whose content does not match its checksum."""


def md5sum(path: str) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _fetch(url: str, part: str, timeout: float) -> None:
    """Append the missing bytes of ``url`` to ``part`` (resuming with a Range request)."""
    have = os.path.getsize(part) if os.path.exists(part) else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to fetch
            return
        raise
    with resp:
        if have and resp.status != 206:
            logger.warning("%s: server ignored the resume request; downloading from the start", url)
            have = 0
        if have:
            logger.info("resuming %s at byte %d", url, have)
        expected = resp.headers.get("Content-Length")
        got = 0
        with open(part, "ab" if have else "wb") as f:
            while True:
                block = resp.read(CHUNK)
                if not block:
                    break
                f.write(block)
                got += len(block)
        # urllib returns short reads silently when the connection drops; check the length.
        if expected is not None and got < int(expected):
            raise http.client.IncompleteRead(b"", int(expected) - got)


def download(url: str, dest: str, md5: Optional[str] = None, retries: int = 5,
             timeout: float = 60.0, backoff: float = 2.0) -> str:
    """Download ``url`` to ``dest`` unless a copy with the right md5 is there. Returns ``dest``."""
    if os.path.exists(dest):
        if md5 is None or md5sum(dest) == md5:
            logger.info("%s already downloaded", dest)
            return dest
        raise DownloadError(f"{dest} exists but its md5 is {md5sum(dest)}, expected {md5}; "
                            "delete it to download again")
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    part = dest + ".part"
    for attempt in range(1, retries + 1):
        try:
            _fetch(url, part, timeout)
            break
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
            if attempt == retries:
                raise DownloadError(f"downloading {url} failed after {retries} attempts: {e}; "
                                    f"re-run to resume from {part}") from e
            logger.warning("download of %s interrupted (%s); retrying (%d/%d)",
                           url, e, attempt, retries)
            time.sleep(backoff * attempt)
    if md5 is not None:
        got = md5sum(part)
        if got != md5:
            bad = dest + ".corrupt"
            os.replace(part, bad)
            raise DownloadError(f"{url}: md5 {got} does not match {md5}; the archive is corrupt "
                                f"and was moved to {bad} (it was not unpacked)")
    os.replace(part, dest)
    return dest


def _safe_members(tar: tarfile.TarFile, archive: str):
    for m in tar.getmembers():
        name = os.path.normpath(m.name)
        if name.startswith("..") or os.path.isabs(name) or m.issym() or m.islnk() \
                or m.isdev():
            raise DownloadError(f"{archive}: refusing unsafe member {m.name!r}")
        yield m


def extract(archive: str, dest_dir: str, marker_name: Optional[str] = None) -> str:
    """Unpack a tar archive into ``dest_dir`` atomically; skipped when already complete."""
    marker = os.path.join(dest_dir, marker_name or f".{os.path.basename(archive)}.complete")
    if os.path.exists(marker):
        logger.info("%s already unpacked into %s", archive, dest_dir)
        return dest_dir
    os.makedirs(dest_dir, exist_ok=True)
    tmp = os.path.join(dest_dir, f".extract-{os.path.basename(archive)}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, members=list(_safe_members(tar, archive)))
    except (tarfile.TarError, EOFError, OSError, DownloadError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DownloadError(f"cannot unpack {archive}: {e}") from e
    for name in os.listdir(tmp):
        target = os.path.join(dest_dir, name)
        if os.path.exists(target):
            _merge_tree(os.path.join(tmp, name), target)
        else:
            os.replace(os.path.join(tmp, name), target)
    shutil.rmtree(tmp, ignore_errors=True)
    open(marker, "w").close()
    return dest_dir


def _merge_tree(src: str, dst: str) -> None:
    if os.path.isdir(src) and os.path.isdir(dst):
        for name in os.listdir(src):
            _merge_tree(os.path.join(src, name), os.path.join(dst, name))
    else:
        os.replace(src, dst)


def fetch_archives(base_url: str, dest: str, archives: Dict[str, Optional[str]]) -> None:
    """Download ``<base_url>/<name>`` for every archive name -> md5 into ``dest`` and unpack it
    there (both steps skipped when already complete)."""
    for name, md5 in archives.items():
        path = download(f"{base_url.rstrip('/')}/{name}", os.path.join(dest, name), md5)
        extract(path, dest)


def add_download_options(parser: argparse.ArgumentParser, base_url: str, key: str) -> None:
    """The options every corpus download script shares: --dest, --base_url and --md5 KEY MD5
    (a checksum override, for mirrors and tests; KEY names an archive or a subset)."""
    parser.add_argument("--dest", required=True, help="where archives go and are unpacked")
    parser.add_argument("--base_url", default=base_url)
    parser.add_argument("--md5", nargs=2, action="append", metavar=(key, "MD5"), default=[],
                        help="override a checksum (for mirrors or tests)")
