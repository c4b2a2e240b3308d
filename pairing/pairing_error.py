"""The pairing package's named error."""
from common.errors import UserError


class PairingError(UserError, ValueError):
    """Bad pairing input (empty photo folder, undecodable photo, stale pairing.csv, mismatched embeddings);
    the message names the file or value and the fix."""
