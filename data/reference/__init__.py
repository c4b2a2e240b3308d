"""The demosaiced reference (Menon, OpenCV, gray world) and its disk cache."""
