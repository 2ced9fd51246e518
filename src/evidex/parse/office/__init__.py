"""Office Open XML (DOCX, XLSX): one bounded package reader (package.py) and the format parsers on top of it."""
