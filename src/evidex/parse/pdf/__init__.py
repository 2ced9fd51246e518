"""PDF: born-digital text with glyph boxes (pypdfium2), ruled tables, OCR of scanned pages, and the guards that keep hostile PDFs bounded."""
