"""Semantic pseudo-pairing (docs/method.md §11, docs/pairing.md): embed RAW renderings and photos, match the sets
with optimal transport on the cosine cost, write pairing.csv and a contact sheet. Imports only common/ and
third-party packages; every setting arrives as an argument; nothing runs at import time."""
from .contact_sheet import best_and_worst, contact_sheet
from .embedders import DINOV2_MODELS, EMBEDDERS, IMAGE_LEVELS, build_embedder
from .embedding_cache import EmbeddingCache, embed_files
from .matching import MATCHERS, cosine_cost, match_sets, ranked_matches, transport_plan
from .pairing_error import PairingError
from .pairing_file import best_photos, is_reusable, read_pairing, signature, write_pairing

__all__ = [
    "DINOV2_MODELS", "EMBEDDERS", "IMAGE_LEVELS", "MATCHERS", "EmbeddingCache", "PairingError", "best_and_worst",
    "best_photos", "build_embedder", "contact_sheet", "cosine_cost", "embed_files", "is_reusable", "match_sets",
    "ranked_matches", "read_pairing", "signature", "transport_plan", "write_pairing",
]
