"""Students by name or by path.

``--student``, ``scorer.model`` and ``proposer.model`` take a model directory (written by ``evidex train`` or
``evidex distill``) or the *name* of a registered student: ``default`` is the generic student packaged with
evidex, and any installed package may register more under the ``evidex.students`` entry-point group, the
value naming a directory (a ``str`` or :class:`~pathlib.Path` attribute, or a function returning one)::

    [project.entry-points."evidex.students"]
    invoices = "acme_students:INVOICES_DIR"

An embedding application may also call ``evidex.registry.students.register("invoices", Path("/models/inv"))``
(a :class:`~pathlib.Path` object: a string names ``"module:attr"`` as in an entry point).
A directory that exists wins over a registered name of the same spelling.
"""

from __future__ import annotations

from pathlib import Path

from evidex.registry import students

DEFAULT_MODEL = Path(__file__).parent / "default"  # the packaged generic student
DEFAULT_NAME = "default"


def _target_path(target: object) -> Path:
    value = target() if callable(target) else target
    return Path(str(value))


def resolve_student(model: str | Path) -> Path:
    """The directory of ``model``: ``""``/``"default"`` name the packaged student, an existing directory is
    itself, a registered name is the directory it registers; anything else is returned as a path (the caller
    reports it missing, with :func:`student_hint`)."""
    s = str(model)
    if s in ("", DEFAULT_NAME):
        return DEFAULT_MODEL
    p = Path(s)
    if p.is_dir() or s not in students:
        return p
    return _target_path(students.get(s))


def student_names() -> list[str]:
    """Every registered student name (``default`` included)."""
    return sorted({DEFAULT_NAME, *students.names()})


def student_hint() -> str:
    return (f"give a directory written by `evidex train`/`evidex distill`, or a registered student: "
            f"{', '.join(student_names())}")


__all__ = ["DEFAULT_MODEL", "DEFAULT_NAME", "resolve_student", "student_hint", "student_names"]
