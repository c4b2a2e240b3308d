"""Foundation helpers every library and script may use; this package imports nothing of the project.

atomic_write: the one way the project writes a file (checkpoints, caches, CSVs, lists, images, exports);
atomic_path: the same for writers that only take a file name (ONNX and TFLite exporters).
strip_module_prefix: state_dict keys saved from DistributedDataParallel / DataParallel.
"""
from .atomic import atomic_path, atomic_write
from .state_dict import strip_module_prefix

__all__ = ["atomic_path", "atomic_write", "strip_module_prefix"]
