"""``evidex serve``: an HTTP service over the same pipeline, run loop and record format as the CLI, and the
review page (see :mod:`evidex.output.review`). Needs the ``serve`` extra (fastapi, uvicorn, python-multipart)."""

from evidex.serve.app import create_app
from evidex.serve.config import TOKEN_ENV, ServeConfig

__all__ = ["TOKEN_ENV", "ServeConfig", "create_app"]
