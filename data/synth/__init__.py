"""The embedded synthetic dataset (inverse ISP) and the DNG writer that it and the tests use."""
