"""Pretrained weight files and published generator checkpoints: `check` prints a present/missing table,
`download` fetches missing files. Both registries live in pretrained/: backbone weights (pretrained.backbone_weights)
go where their owning libraries look (torch.hub, pyiqa, the Hugging Face cache); the authors' generator
checkpoints (pretrained.published names) come from the authors' repository (or $ISP_CHECKPOINT_URL, a mirror laid
out like it) into the checkpoint cache ($ISP_CHECKPOINTS, else ~/.cache/isp/checkpoints) at their repository
paths, sha256-checked; a clone of the authors' repository given as --checkpoint-dir needs no download.

    python -m tools.weights check
    python -m tools.weights download [--only NAME ...] [--checkpoint-dir DIR]

Checks on what arrives: the torchvision files carry the start of their SHA-256 in their names and
pretrained.download_cache verifies it, as torch.hub does; the Hugging Face hub verifies the ViT's SHA-256 itself;
every file is then read
back with the project's strict loader (the MatConvNet .mat and pyiqa's files have no published
checksum), and a file that does not read is set aside as <file>.corrupt.
"""
import argparse
import socket
import sys
import threading
from pathlib import Path
from typing import Callable, Iterable, List, Optional
from urllib.parse import urlparse

from losses.weight_loading import WeightsMismatchError, load_state_file
from pretrained import (
    DOWNLOAD_COMMAND,
    OLD_NAMES,
    PUBLISHED,
    WEIGHT_FILES,
    WeightFile,
    cached_path,
    checkpoint_cache_dir,
    download_checkpoint,
    download_weight,
    expected_path,
    find_published,
    resolve_weight,
    weight_directory,
    weight_status,
)

PROBE_TIMEOUT_S = 3.0  # how long a host may take to accept a connection before we call it offline


def _human(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024.0
    return str(size)


def status_table() -> str:
    rows = [("name", "status", "size", "file", "location", "used for")]
    for name, path in weight_status().items():
        entry = WEIGHT_FILES[name]
        shown = path if path is not None else expected_path(name)
        rows.append((name, "present" if path else "MISSING", _human(entry.size_bytes), entry.file, str(shown),
                     entry.used_for))
    for name, entry in PUBLISHED.items():
        path = cached_path(entry)
        rows.append((name, "present" if path else "MISSING", "", entry.file,
                     str(path or checkpoint_cache_dir() / entry.repo_path), f"published {entry.backbone} generator"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths)) + "  " + row[-1] for row in rows]
    return "\n".join(lines)


def download_checkpoints(names: List[str], cache_dir) -> int:
    """Published generator checkpoints into the cache; the first failure ends the command (exit 2)."""
    for entry in map(PUBLISHED.get, dict.fromkeys(find_published(name).name for name in names)):  # each once
        present = cached_path(entry, cache_dir)
        print(f"{entry.name}: present at {present}" if present else
              f"{entry.name}: saved {download_checkpoint(entry, cache_dir)}", flush=True)
    return 0


def verify_file(entry: WeightFile, path: Path) -> None:
    """Read the file back the way training will; WeightsMismatchError when it does not read."""
    if entry.file.endswith(".mat"):
        from losses.vgg import matconvnet_vgg19_state
        matconvnet_vgg19_state(path)
    else:
        load_state_file(path)


def host_reachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether the URL's host accepts a TCP connection within timeout seconds (DNS included: the probe
    runs in a thread, so a resolver that hangs cannot stall the caller). file:// URLs: the file exists."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(parsed.path).exists()
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    answer: List[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((parsed.hostname, port), timeout=timeout).close()
            answer.append(True)
        except OSError:
            answer.append(False)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(answer and answer[0])


def missing_names(names: Iterable[str]) -> List[str]:
    status = weight_status()
    return [name for name in names if status[name] is None]


def download(names: List[str], reachable: Callable[[str], bool] = host_reachable,
             fetch: Callable[[WeightFile], Path] = download_weight) -> List[str]:
    """Fetch the missing files among names whose host answers; returns the names still missing."""
    for name in names:
        if name not in missing_names([name]):
            print(f"{name}: present at {resolve_weight(name)}")
    todo = missing_names(names)
    hosts = {urlparse(WEIGHT_FILES[n].url).netloc: WEIGHT_FILES[n].url for n in todo}
    offline = {host for host, url in hosts.items() if not reachable(url)}
    for host in sorted(offline):
        print(f"cannot reach {host} (no answer within {PROBE_TIMEOUT_S:g} s): not fetching "
              f"{', '.join(n for n in todo if urlparse(WEIGHT_FILES[n].url).netloc == host)}", file=sys.stderr)
    todo = [n for n in todo if urlparse(WEIGHT_FILES[n].url).netloc not in offline]
    if todo:
        total = sum(WEIGHT_FILES[n].size_bytes for n in todo)
        print(f"downloading {len(todo)} file(s), {_human(total)} in total: "
              + ", ".join(f"{n} ({_human(WEIGHT_FILES[n].size_bytes)})" for n in todo), flush=True)
    for name in todo:
        _fetch_and_verify(WEIGHT_FILES[name], fetch)
    return missing_names(names)


def _fetch_and_verify(entry: WeightFile, fetch: Callable[[WeightFile], Path]) -> None:
    try:
        print(f"{entry.name}: downloading {entry.url}", flush=True)
        path = fetch(entry)
    except Exception as exc:  # noqa: BLE001 - report every file, the caller sees what is still missing
        print(f"{entry.name}: FAILED ({type(exc).__name__}: {exc}). Put {entry.file} into "
              f"{weight_directory(entry)} by hand (source {entry.url}).", file=sys.stderr)
        return
    try:
        verify_file(entry, path)
    except WeightsMismatchError as exc:
        path.replace(path.with_name(path.name + ".corrupt"))
        print(f"{entry.name}: downloaded file does not read ({exc}); set aside as {path.name}.corrupt, "
              f"run the download again", file=sys.stderr)
        return
    print(f"{entry.name}: saved {path}", flush=True)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.weights", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="print a present/missing table of every weight file")
    dl = sub.add_parser("download", help="download missing weight files (needs network)")
    dl.add_argument("--only", nargs="+", choices=sorted(WEIGHT_FILES) + sorted(PUBLISHED) + sorted(OLD_NAMES),
                    metavar="NAME",
                    help=f"only these files (default: all backbone weights): {', '.join(sorted(WEIGHT_FILES))}, "
                         f"or published checkpoints: {', '.join(sorted(PUBLISHED))}")
    dl.add_argument("--checkpoint-dir", help="checkpoint cache (default $ISP_CHECKPOINTS or ~/.cache/isp/checkpoints)")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.command == "check":
        print(status_table())
        missing = [n for n, p in weight_status().items() if p is None]
        if missing:
            print(f"\n{len(missing)} missing; fetch with `{DOWNLOAD_COMMAND}` "
                  f"(or --only {' '.join(missing)}).")
        return 0
    names = args.only or list(WEIGHT_FILES)
    still_missing = download([n for n in names if n in WEIGHT_FILES])
    checkpoints_failed = download_checkpoints([n for n in names if n not in WEIGHT_FILES], args.checkpoint_dir)
    return checkpoints_failed or (1 if still_missing else 0)


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "python -m tools.weights"))
