"""A real, small volume that tests can fill up: a tmpfs of a few MB, mounted without touching the machine.

Preferred: a private mount namespace (`unshare -m` as root, `unshare -rm` with a user namespace otherwise)
that holds the tmpfs while a `sleep` keeps it alive; nothing is mounted anywhere else on the machine.
`Volume.run` starts a process inside that namespace (`nsenter`), where the tmpfs is at `Volume.path`; the test
process itself reads and fills it through the holder's root, `Volume.host` = `/proc/<pid>/root/<mount point>`.
(SQLite cannot be pointed at that /proc path: it resolves symlinks and lands on the empty host directory, so
everything that opens the store or the feedback database runs through `Volume.run`.)
Fallback as root (CI): a plain `mount -t tmpfs` on a private temp directory, unmounted afterwards.
Neither available: the tests skip with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


@dataclass
class Volume:
    path: Path  # the tmpfs as processes started by `run` see it
    host: Path  # the same tmpfs as this (test) process reaches it
    size: int
    holder: subprocess.Popen[str] | None = None  # the process that keeps the mount namespace alive

    def free(self) -> int:
        return shutil.disk_usage(self.host).free

    def inside(self, path: Path) -> Path:
        """Where a path under `path` is for this (test) process."""
        return self.host / path.relative_to(self.path)

    def run(self, args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run a command where the tmpfs is mounted (text mode, output captured)."""
        prefix: list[str] = []
        if self.holder is not None:
            prefix = ["nsenter", "-t", str(self.holder.pid), "-m"]
            if os.geteuid() != 0:
                prefix[4:4] = ["-U", "--preserve-credentials"]
        return subprocess.run([*prefix, *args], text=True, capture_output=True, **kwargs)

    def fill(self, leave: int = 0) -> Path:
        """Write zeros until the volume is full (ENOSPC), then give `leave` bytes back."""
        ballast = self.host / "ballast.zeros"
        with open(ballast, "ab", buffering=0) as fh:
            for size in (_CHUNK, 64 << 10, 4 << 10, 512, 1):
                block = b"\0" * size
                with contextlib.suppress(OSError):
                    while True:
                        fh.write(block)
        assert self.free() == 0, f"volume not full: {self.free()} bytes free"
        if leave:
            os.truncate(ballast, max(0, ballast.stat().st_size - leave))
        return ballast

    def unfill(self) -> None:
        (self.host / "ballast.zeros").unlink(missing_ok=True)


def _namespace_volume(mount_point: Path, size: int) -> Volume | str:
    """A tmpfs in a new mount namespace, or why that is not possible here."""
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        return "`unshare` of `nsenter` is niet geïnstalleerd"
    flags = "-m" if os.geteuid() == 0 else "-rm"
    script = f"mount -t tmpfs -o size={size} tmpfs '{mount_point}' && echo ready && exec sleep 3600"
    holder = subprocess.Popen(["unshare", flags, "--propagation", "private", "sh", "-c", script],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    if holder.stdout.readline().strip() != "ready":
        holder.wait(timeout=10)
        err = holder.stderr.read().strip() if holder.stderr else ""
        return f"unshare {flags} + mount tmpfs lukt hier niet ({err or holder.returncode})"
    path = Path(f"/proc/{holder.pid}/root") / mount_point.relative_to("/")
    try:
        total = shutil.disk_usage(path).total
    except OSError as exc:
        _stop(holder)
        return f"de tmpfs in de namespace is van buitenaf niet bereikbaar ({exc})"
    if total != size:  # e.g. /proc/<pid>/root not followed: we would be filling the real disk
        _stop(holder)
        return f"{path} is niet de tmpfs van {size} bytes maar {total} bytes"
    vol = Volume(mount_point, path, size, holder)
    probe = vol.run([sys.executable, "-c", f"import shutil; print(shutil.disk_usage({str(mount_point)!r}).total)"])
    if probe.returncode != 0 or probe.stdout.strip() != str(size):
        _stop(holder)
        return f"nsenter in de namespace lukt hier niet ({probe.stderr.strip() or probe.stdout.strip()})"
    return vol


def _plain_mount(mount_point: Path, size: int) -> Volume | str:
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return f"mount -t tmpfs als root lukt hier niet ({out.stderr.strip()})"
    return Volume(mount_point, mount_point, size)


def _stop(holder: subprocess.Popen[str]) -> None:
    holder.kill()
    holder.wait(timeout=10)
    for stream in (holder.stdout, holder.stderr):
        if stream is not None:
            stream.close()


@contextlib.contextmanager
def small_volume(tmp_path: Path, size: int = 48 << 20) -> Iterator[Volume]:
    """A fresh tmpfs of `size` bytes; skips the test (with the reason) where none can be made."""
    import pytest

    mount_point = tmp_path / "volume"
    mount_point.mkdir()
    vol = _namespace_volume(mount_point, size)
    if isinstance(vol, str) and os.geteuid() == 0:
        reason = vol
        vol = _plain_mount(mount_point, size)
        if isinstance(vol, str):
            vol = f"{reason}; {vol}"
    if isinstance(vol, str):
        pytest.skip(f"geen kleine tmpfs te maken: {vol}")
    try:
        yield vol
    finally:
        if vol.holder is not None:
            _stop(vol.holder)
        else:
            subprocess.run(["umount", "-l", str(mount_point)], check=False)
