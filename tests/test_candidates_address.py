"""Address runs (consecutive address-like lines) do not start or end with a parenthesised note."""

from __future__ import annotations

from evidex.extract.candidates import build_candidates
from evidex.parse import parse_bytes


def test_a_registration_number_in_brackets_is_not_part_of_the_address_run() -> None:
    d = parse_bytes(b"MAKASSAR FRESH MARKET S/B.\n(CO.NO. 1208604-T)\nGROUND FLOOR, NO. 4 & 6,\nJALAN SS15/4B,\n"
                    b"47500 SUBANG JAYA, SELANGOR.\nTEL:03-56131328\n", "r.txt")
    runs = {" ".join(c.text.split()) for c in build_candidates(d).items if c.source == "address"}
    assert "GROUND FLOOR, NO. 4 & 6, JALAN SS15/4B, 47500 SUBANG JAYA, SELANGOR." in runs
    assert not any("1208604" in r for r in runs)
