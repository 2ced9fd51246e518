"""Grounding and validation: typed normalizers, aligners (exact → normalized → fuzzy), extraction assembly."""

from evidex.ground.align import UNGROUNDED, Alignment, ground, ground_in_view
from evidex.ground.normalize import (
    NormalizeError,
    normalize_bool,
    normalize_decimal,
    normalize_enum,
    normalize_integer,
    normalize_value,
)
from evidex.ground.validate import combine_confidence, make_extraction
from evidex.scan.dates import date_readings, normalize_date
from evidex.scan.numbers import Money, money_readings, normalize_money, number_readings, parse_number

__all__ = [
    "UNGROUNDED", "Alignment", "Money", "NormalizeError", "combine_confidence", "date_readings", "ground",
    "ground_in_view", "make_extraction", "money_readings", "normalize_bool", "normalize_date",
    "normalize_decimal", "normalize_enum", "normalize_integer", "normalize_money", "normalize_value",
    "number_readings", "parse_number",
]
