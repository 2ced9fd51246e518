"""``evidex parse FILE...`` — parse documents and show them as JSON, Markdown or a structure tree."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.tree import Tree

from evidex import registry
from evidex.cli.common import LIMIT_HELP, console, err_console, expand_paths, limits_from_cli, print_error
from evidex.errors import DocumentError, UsageError
from evidex.model import Document, Layer, document_to_dict
from evidex.parse import Limits, parse_many
from evidex.select.views import markdown_view
from evidex.select.views.render import ALL_LAYERS, BODY_ONLY


class OutFormat(StrEnum):
    json = "json"
    markdown = "markdown"
    tree = "tree"
    text = "text"
    compact = "compact"
    context = "context"


def _preview(s: str, n: int = 70) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _prov_str(doc: Document, node_id: int) -> str:
    n = doc.nodes[node_id]
    p = n.prov
    if p is None:
        return ""
    bits = []
    if p.page is not None:
        bits.append(f"p{p.page}")
    for name in ("sheet_cell", "mime_part", "dom_path", "part"):
        v = getattr(p, name)
        if v:
            bits.append(f"{'mime ' if name == 'mime_part' else ''}{v}")
    if p.line is not None:
        bits.append(f"L{p.line}")
    return " ".join(bits)


def render_tree(doc: Document, max_nodes: int = 400) -> Tree:
    root = Tree(f"[bold]{escape(doc.source.name)}[/] [dim]{doc.source.media_type} · {len(doc.text):,} chars · "
                f"{len(doc.nodes):,} nodes · id {doc.id}[/]")
    shown = 0
    handles: dict[int, Tree] = {0: root}
    for node, _depth in doc.walk():
        if node.id == 0:
            continue
        if shown >= max_nodes:
            root.add(f"[dim]… {len(doc.nodes) - shown - 1:,} more nodes (use --format json for all)[/]")
            break
        parent = handles.get(node.parent if node.parent is not None else 0, root)
        label = f"[cyan]{node.kind.value}[/]"
        if node.level is not None:
            label += f"[cyan]{node.level}[/]"
        if node.layer is not Layer.BODY:
            label += f" [magenta]({node.layer.value})[/]"
        prov = _prov_str(doc, node.id)
        if prov:
            label += f" [dim]{escape(prov)}[/]"
        if not node.children or node.kind.value in ("heading", "key_value", "cell", "list_item", "paragraph"):
            label += f" {escape(_preview(doc.node_text(node)))}"
        handles[node.id] = parent.add(label)
        shown += 1
    for w in doc.warnings:
        root.add(f"[yellow]⚠ {escape(w)}[/]")
    return root


def _print_context(doc: Document, path: str, schema_path: Path, budget: int, selector: str) -> None:
    """The context a selector picks for the schema's fields, then its map back to the canonical text."""
    from evidex.pipeline import load_schema
    from evidex.select.base import Reading

    sch = load_schema(schema_path)
    reading = Reading(doc)
    sel = registry.selectors.create(selector).select(reading, [f"{f.name} {f.description}" for f in sch.fields],
                                                     budget, chunk_tokens=400)
    view = sel.views[0] if sel.views else None
    sys.stdout.write((view.text if view is not None else "") + "\n")
    sys.stdout.write("--- map: view [start, end) <- canonical text [start, end) ---\n")
    for s in view.map.segments if view is not None else ():
        if s.se > s.ss:
            sys.stdout.write(f"{s.vs}-{s.ve} <- {s.ss}-{s.se}\n")
    total = reading.count(reading.view.text)
    used = reading.count(view.text) if view is not None and view.text else 0
    err_console.print(f"[dim]{escape(path)}: {used:,} of {total:,} tokens ({used / max(1, total):.0%}) · "
                      f"{sel.chunks_read} of {sel.chunks_total} units · selector {selector}[/]")


def parse_command(
    files: Annotated[list[Path], typer.Argument(help="Files to parse (directories with --recursive).", show_default=False)],
    format: Annotated[OutFormat, typer.Option("--format", "-f", help="Output: json (one object per line), markdown, text, tree, or compact (spreadsheets: repeated rows collapsed, compression reported).")] = OutFormat.tree,
    all_layers: Annotated[bool, typer.Option("--all-layers", help="Include furniture and hidden text in markdown/text output.")] = False,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into directories.")] = False,
    as_format: Annotated[str | None, typer.Option("--as", help="Force a parser (text, markdown, html, pdf, docx, xlsx, csv, eml, image) instead of sniffing.")] = None,
    isolate: Annotated[bool, typer.Option("--isolate/--in-process", help="Parse each file in a watched worker process (crash, hang and memory safe; the default for untrusted files).")] = True,
    timeout: Annotated[float, typer.Option(help="Per-file time limit in seconds (with --isolate).")] = 120.0,
    max_bytes: Annotated[int, typer.Option(help="Refuse files larger than this many bytes.")] = Limits().max_bytes,
    limit: Annotated[list[str] | None, typer.Option("--limit", metavar="NAME=VALUE", help=LIMIT_HELP)] = None,
    schema: Annotated[Path | None, typer.Option("--schema", "-s", help="--format context: the schema whose fields the context is selected for.")] = None,
    budget: Annotated[int, typer.Option(min=1, metavar="TOKENS", help="--format context: token budget of the selected context.")] = 1000,
    selector: Annotated[str, typer.Option(help="--format context: the registered selector (structured, relevant, …).")] = "structured",
) -> None:
    """Parse documents into evidex's canonical text + structure tree.

    Examples:

      evidex parse examples/invoice.html

      evidex parse examples/* --format json > docs.jsonl

      evidex parse report.pdf --format markdown

      evidex parse contract.pdf --format context --schema nda.yaml --budget 800   (what a model would read)
    """
    if as_format == "context":  # "--as context": the output, not a parser
        as_format, format = None, OutFormat.context
    if format is OutFormat.context and schema is None:
        raise UsageError("--format context needs --schema (the fields to select the context for)")
    if as_format is not None and as_format not in registry.parsers:
        registry.parsers.get(as_format)  # raises the coded usage error naming the available parsers (exit 2)
    limits = limits_from_cli(limit, Limits().with_(timeout_s=timeout, max_bytes=max_bytes))
    failed = 0
    paths = expand_paths(files, recursive)
    layers = ALL_LAYERS if all_layers else BODY_ONLY
    for path, result in parse_many(paths, format=as_format, limits=limits, isolate=isolate):
        if isinstance(result, DocumentError):
            failed += 1
            print_error(result)
            if format is OutFormat.json:
                sys.stdout.write(json.dumps({"path": path, "error": result.to_dict()}) + "\n")
            continue
        doc = result
        if format is OutFormat.json:
            sys.stdout.write(json.dumps(document_to_dict(doc), ensure_ascii=False) + "\n")
        elif format is OutFormat.markdown:
            if len(paths) > 1:
                console.rule(escape(path))
            sys.stdout.write(markdown_view(doc, layers).text + "\n")
        elif format is OutFormat.compact:
            from evidex.select.views.sheet import compact_sheet_view

            view, stats = compact_sheet_view(doc)
            sys.stdout.write(view.text + "\n")
            err_console.print(
                f"[dim]{escape(path)}: {stats['source_chars']:,} → {stats['view_chars']:,} chars, "
                f"compression {stats['compression']:.1f}× ({stats['rows_collapsed']:,} of {stats['rows']:,} rows collapsed)[/]"
            )
        elif format is OutFormat.context:
            assert schema is not None
            _print_context(doc, path, schema, budget, selector)
        elif format is OutFormat.text:
            from evidex.select.views import plain_view

            sys.stdout.write(plain_view(doc, layers).text + "\n")
        else:
            console.print(render_tree(doc))
    sys.stdout.flush()
    if failed:
        raise typer.Exit(1)
