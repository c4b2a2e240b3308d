"""Readers and layouts: RAW/RGB files, presets, packing, index lists, splits, datasets, camera ingest."""
