"""Scanners for typed values in text — dates, numbers and money, durations — usable by every layer above the model.

Each scanner returns character offsets into the text it was given, and readings (normalised values) of a string."""
