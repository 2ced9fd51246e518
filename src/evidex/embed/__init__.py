"""Text encoders evidex runs itself (numpy, offline): all-MiniLM-L6-v2 from its PyPI package."""

from evidex.embed.minilm import INSTALL_HINT, EncoderIntegrityError, MiniLM, available, load_minilm

__all__ = ["INSTALL_HINT", "EncoderIntegrityError", "MiniLM", "available", "load_minilm"]
