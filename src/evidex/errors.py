"""One root error, a few families, stable codes, and messages that say how to fix the problem.

Every error evidex raises on purpose is an :class:`EvidexError`. Each concrete class has a stable
``code`` (``EVX-…``), a machine-readable ``reason`` (e.g. ``EMPTY_INPUT``) and a human ``hint``.
Codes never change meaning once released; new ones are appended.
"""

from __future__ import annotations

from typing import Any, ClassVar


class EvidexError(Exception):
    """Root of all evidex errors."""

    code: ClassVar[str] = "EVX-0000"
    reason: ClassVar[str] = "ERROR"
    default_hint: ClassVar[str] = ""
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None, path: str | None = None) -> None:
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        self.path = path
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        text = f"[{self.code}] {where}{self.message}"
        if self.hint:
            text += f" — {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "reason": self.reason,
            "type": type(self).__name__,
            "message": self.message,
            "hint": self.hint,
            "path": self.path,
        }

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across worker processes
        return (_rebuild_error, (type(self), self.message, self.hint, self.path))


def _rebuild_error(cls: type[EvidexError], message: str, hint: str, path: str | None) -> EvidexError:
    return cls(message, hint=hint, path=path)


# ---------------------------------------------------------------- configuration (exit code 2)
class ConfigError(EvidexError):
    code = "EVX-C000"
    reason = "CONFIG"
    exit_code = 2


class SchemaError(ConfigError):
    code = "EVX-C001"
    reason = "SCHEMA_INVALID"
    default_hint = "check the schema file against docs/schema.md"


class UnknownPluginError(ConfigError):
    code = "EVX-C002"
    reason = "UNKNOWN_PLUGIN"


class PluginLoadError(ConfigError):
    code = "EVX-C003"
    reason = "PLUGIN_IMPORT_FAILED"


class UsageError(ConfigError):
    code = "EVX-C004"
    reason = "USAGE"


# ---------------------------------------------------------------- documents (exit code 1: some files failed)
class DocumentError(EvidexError):
    """A single input document could not be parsed. Never stops the rest of a batch."""

    code = "EVX-D000"
    reason = "DOCUMENT"


class FileMissingError(DocumentError):
    code = "EVX-D001"
    reason = "NOT_FOUND"
    default_hint = "check the path; globs are expanded by your shell"


class NotAFileError(DocumentError):
    code = "EVX-D002"
    reason = "NOT_A_FILE"
    default_hint = "pass files, or a directory together with --recursive"


class EmptyInputError(DocumentError):
    code = "EVX-D003"
    reason = "EMPTY_INPUT"
    default_hint = "the file has no bytes (or no text); nothing to parse"


class UnsupportedTypeError(DocumentError):
    code = "EVX-D004"
    reason = "UNSUPPORTED_TYPE"
    default_hint = "supported: text, Markdown, HTML, PDF, images, DOCX, XLSX, CSV, EML"


class TypeMismatchError(DocumentError):
    code = "EVX-D005"
    reason = "TYPE_MISMATCH"
    default_hint = "the content does not match the file extension; rename the file, or choose the parser with --as FORMAT (evidex parse)"


class TooLargeError(DocumentError):
    code = "EVX-D006"
    reason = "TOO_LARGE"
    default_hint = "if the file is trusted, raise the limit: --limit max_bytes=N (evidex parse / extract; parse also takes --max-bytes)"


class DecompressionLimitError(DocumentError):
    code = "EVX-D007"
    reason = "DECOMPRESSION_LIMIT"
    default_hint = "the archive expands far beyond its size (possible zip bomb)"


class NestingLimitError(DocumentError):
    code = "EVX-D008"
    reason = "NESTING_LIMIT"
    default_hint = "the document nests too deeply (archives, messages or markup)"


class EntryLimitError(DocumentError):
    code = "EVX-D009"
    reason = "ENTRY_LIMIT"


class PixelLimitError(DocumentError):
    code = "EVX-D010"
    reason = "PIXEL_LIMIT"
    default_hint = "the image is larger than the pixel limit (possible decompression bomb)"


class UnsafePathError(DocumentError):
    code = "EVX-D011"
    reason = "UNSAFE_PATH"


class EncryptedError(DocumentError):
    code = "EVX-D012"
    reason = "ENCRYPTED"
    default_hint = "decrypt the file first; evidex does not guess passwords"


class XmlForbiddenError(DocumentError):
    code = "EVX-D013"
    reason = "XML_FORBIDDEN"
    default_hint = "XML with DTDs or entity declarations is refused (billion-laughs protection)"


class MalformedError(DocumentError):
    code = "EVX-D014"
    reason = "MALFORMED"
    default_hint = "the file is damaged or truncated"


class ParseTimeoutError(DocumentError):
    code = "EVX-D015"
    reason = "TIMEOUT"
    default_hint = "if the file is trusted and large, raise the limit: --timeout (evidex parse) or --limit timeout_s=SECONDS"


class MemoryLimitError(DocumentError):
    code = "EVX-D016"
    reason = "MEMORY_LIMIT"


class WorkerCrashedError(DocumentError):
    code = "EVX-D017"
    reason = "WORKER_CRASHED"
    default_hint = "a native library crashed on this file; it was isolated in a worker process"


class MissingDependencyError(DocumentError):
    code = "EVX-D018"
    reason = "MISSING_DEPENDENCY"


class LimitError(DocumentError):
    code = "EVX-D019"
    reason = "RESOURCE_LIMIT"


# ---------------------------------------------------------------- backends (exit code 3)
class BackendError(EvidexError):
    code = "EVX-B000"
    reason = "BACKEND"
    exit_code = 3


class BackendUnavailableError(BackendError):
    code = "EVX-B001"
    reason = "MODEL_UNAVAILABLE"
    default_hint = "is the server running and the base URL right? (evidex extract --backend openai --base-url …)"


class BackendTimeoutError(BackendError):
    code = "EVX-B002"
    reason = "TIMEOUT"


class BackendResponseError(BackendError):
    code = "EVX-B003"
    reason = "BAD_RESPONSE"


class ModelOutputError(BackendError):
    code = "EVX-B004"
    reason = "MODEL_OUTPUT_INVALID"
    default_hint = "the model kept producing output that does not fit the schema"


class ModelSelfTestError(BackendError):
    """The model could not decode one token in a child process (a native crash, e.g. an unsupported CPU path)."""

    code = "EVX-B005"
    reason = "MODEL_SELFTEST_FAILED"
    default_hint = ("rebuild llama-cpp-python portably with `make rebuild-llama`, or run without the model: "
                    "--backend none")


class BackendCrashedError(BackendError):
    """The worker process running the model died (signal, abort, out of memory) during a request."""

    code = "EVX-B006"
    reason = "MODEL_WORKER_CRASHED"
    default_hint = ("the model worker was restarted and the batch went on; if this repeats, run `make rebuild-llama` "
                    "or use --backend none")


class DeadlineExceededError(BackendTimeoutError):
    """The per-document time budget ran out before extraction finished."""

    code = "EVX-B007"
    reason = "DOCUMENT_DEADLINE"
    default_hint = "raise --deadline, or lower the work per document (--mode rules, smaller context)"


class BackendGaveUpError(BackendError):
    """Not processed: the run stopped asking the backend after repeated consecutive failures."""

    code = "EVX-B008"
    reason = "NOT_PROCESSED_BACKEND_FAILING"
    default_hint = "fix the backend, then rerun (with --resume once available) to process these documents"


# ---------------------------------------------------------------- bugs (exit code 1; please report)
class InternalError(EvidexError):
    """An unexpected exception inside a stage: the document fails alone, the traceback is kept."""

    code = "EVX-I001"
    reason = "INTERNAL"
    default_hint = "this is a bug in evidex or a plugin; the traceback is in the record's diagnostics"


ALL_ERRORS: tuple[type[EvidexError], ...] = tuple(
    c for c in list(globals().values()) if isinstance(c, type) and issubclass(c, EvidexError)
)
