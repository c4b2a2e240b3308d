"""The on-disk store of frozen features (memory-mapped .npy per image and feature)."""
