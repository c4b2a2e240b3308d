"""Data package: readers for the ZRR, Fujifilm UltraISP and NTIRE 2026 layouts and camera RAW files, packing,
demosaiced references with a disk cache, the embedded synthetic dataset, dataset checks and split lists.
Nothing runs at import time."""
from .bad_input import BadInputError
from .readers.camera import CAMERA_RAW_EXTS, CameraRaw, normalise_mosaic, read_camera_raw
from .readers.check import check_dataset
from .readers.dataset import ISPDataset, generator_input
from .readers.index_list import read_index_list, select_listed
from .readers.ntire_npy import read_packed_npy
from .readers.packing import mosaic_rggb, normalise_packed, pack_bayer, rmfa_split, unpack_bayer
from .readers.presets import DATASET_PRESETS, DatasetPreset, get_preset
from .readers.raw_formats import mosaic_file_problem, read_mosaic
from .readers.raw_io import read_raw, read_rgb, write_raw, write_rgb
from .readers.split_lists import make_split, write_split_lists
from .reference.demosaic import demosaic_reference, demosaic_settings
from .reference.reference_cache import cache_entry_path, cached_reference, dataset_reference
from .synth.synthetic import make_synthetic_dataset

__all__ = [
    "BadInputError", "DATASET_PRESETS", "DatasetPreset", "get_preset", "read_raw", "read_rgb", "write_raw",
    "write_rgb", "pack_bayer", "normalise_packed", "rmfa_split", "mosaic_rggb", "demosaic_reference",
    "demosaic_settings", "cached_reference", "dataset_reference", "cache_entry_path", "ISPDataset",
    "generator_input",
    "make_synthetic_dataset", "check_dataset", "make_split", "read_index_list", "select_listed",
    "write_split_lists",
    "unpack_bayer", "CAMERA_RAW_EXTS", "CameraRaw", "normalise_mosaic", "read_camera_raw", "read_packed_npy",
    "mosaic_file_problem", "read_mosaic",
]
