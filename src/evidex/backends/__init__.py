"""Model providers behind one small protocol. Imports only :mod:`evidex.model` and :mod:`evidex.errors`."""

from evidex.backends.base import Backend, Capabilities, Message, Request, Response, load_backend

__all__ = ["Backend", "Capabilities", "Message", "Request", "Response", "load_backend"]
