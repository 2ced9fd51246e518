"""Plain text, Markdown and CSV/TSV."""
