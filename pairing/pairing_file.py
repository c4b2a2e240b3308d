"""pairing.csv (raw, photo, cost, rank: one row per RAW and rank 1..top_k) and its signature beside it.

pairing.json beside the CSV holds the signature of what made it: the identities of every input file, the
embedder's settings (weights included), the RAW rendering and the matcher's settings. A pairing is reused only
when the signature of the current inputs equals the stored one, and every file the CSV names exists.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from common import atomic_write
from common.file_keys import file_identity, stable_hash

from .pairing_error import PairingError

COLUMNS = ("raw", "photo", "cost", "rank")


def signature(raw_paths: list, photo_paths: list, settings: dict) -> str:
    files = {"raw": [file_identity(p) for p in raw_paths], "photo": [file_identity(p) for p in photo_paths]}
    return stable_hash({"files": files, "settings": settings}, length=32)


def signature_path(csv_path) -> Path:
    return Path(csv_path).with_suffix(".json")


def write_pairing(csv_path, raw_paths: list, photo_paths: list, indices: np.ndarray, costs: np.ndarray,
                  settings: dict, sig: str) -> Path:
    """Rows for each RAW (in order) and rank; paths as absolute files so the CSV reads from anywhere."""
    csv_path = Path(csv_path)
    with atomic_write(csv_path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for raw, row, row_costs in zip(raw_paths, indices, costs):
            for rank, (j, cost) in enumerate(zip(row, row_costs), start=1):
                writer.writerow([Path(raw).resolve(), Path(photo_paths[j]).resolve(), f"{cost:.6f}", rank])
    with atomic_write(signature_path(csv_path), "w") as handle:
        json.dump({"signature": sig, "raw_files": len(raw_paths), "photo_files": len(photo_paths),
                   "settings": settings}, handle, indent=1, sort_keys=True, default=str)
    return csv_path


def read_pairing(csv_path) -> list[dict]:
    """Rows {raw, photo (Path), cost (float), rank (int)}; a missing file or a malformed row is a PairingError."""
    csv_path = Path(csv_path)
    try:
        with open(csv_path, newline="") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != COLUMNS:
                raise PairingError(f"{csv_path}: columns {reader.fieldnames}, expected {', '.join(COLUMNS)}; "
                                   "write it with python -m tools.pairing")
            rows = [{"raw": Path(r["raw"]), "photo": Path(r["photo"]), "cost": float(r["cost"]),
                     "rank": int(r["rank"])} for r in reader]
    except FileNotFoundError:
        raise PairingError(f"{csv_path}: no such pairing file; write it with python -m tools.pairing") from None
    except (ValueError, TypeError, KeyError) as error:
        raise PairingError(f"{csv_path}: malformed row ({error}); write it again with python -m tools.pairing") \
            from None
    missing = [str(r[k]) for r in rows for k in ("raw", "photo") if not r[k].is_file()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise PairingError(f"{csv_path} names a missing file {missing[0]}{more}; the data moved or changed: "
                           f"delete {csv_path} (and {signature_path(csv_path).name}) to pair again")
    return rows


def stored_signature(csv_path) -> str | None:
    try:
        return json.loads(signature_path(csv_path).read_text())["signature"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_reusable(csv_path, sig: str) -> bool:
    """The CSV exists and was made from exactly these inputs and settings."""
    return Path(csv_path).is_file() and stored_signature(csv_path) == sig


def best_photos(rows: list[dict]) -> dict:
    """raw path -> its rank-1 photo path."""
    return {r["raw"]: r["photo"] for r in rows if r["rank"] == 1}
