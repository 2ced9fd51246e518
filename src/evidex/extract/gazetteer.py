"""Small, generic name lists used to propose candidates: US states and countries (jurisdictions, places)."""

from __future__ import annotations

import re

US_STATES = ["Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware", "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska", "Nevada", "Ohio", "Oklahoma", "Oregon", "Pennsylvania", "Tennessee", "Texas", "Utah", "Vermont", "Virginia", "Washington", "Wisconsin", "Wyoming", "New Hampshire", "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Rhode Island", "South Carolina", "South Dakota", "West Virginia", "District of Columbia"]
COUNTRIES = ["Argentina", "Australia", "Austria", "Belgium", "Brazil", "Bulgaria", "Canada", "Chile", "China", "Colombia", "Croatia", "Cyprus", "Denmark", "Egypt", "Estonia", "Finland", "France", "Germany", "Greece", "Hungary", "Iceland", "India", "Indonesia", "Ireland", "Israel", "Italy", "Japan", "Kenya", "Korea", "Latvia", "Lithuania", "Luxembourg", "Malaysia", "Malta", "Mexico", "Morocco", "Netherlands", "Nigeria", "Norway", "Pakistan", "Peru", "Philippines", "Poland", "Portugal", "Romania", "Russia", "Singapore", "Slovakia", "Slovenia", "Spain", "Sweden", "Switzerland", "Taiwan", "Thailand", "Turkey", "Ukraine", "Vietnam", "Bermuda", "United States", "United Kingdom", "England and Wales", "England", "Scotland", "Hong Kong", "New Zealand", "South Africa", "Saudi Arabia", "United Arab Emirates", "Cayman Islands", "British Virgin Islands", "Czech Republic", "Ontario", "Quebec", "British Columbia"]
PLACES = tuple(sorted({*US_STATES, *COUNTRIES}, key=len, reverse=True))
PLACE_RE = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(p) for p in PLACES) + r")(?![\w-])", re.IGNORECASE)

# "Acme Widgets, Inc.", "NITROMED, INC.", "Virgin Mobile USA, LLC": capitalised words ending in a legal suffix
ORG_NAME_RE = re.compile(
    r"(?<![\w&])(?:(?:[A-Z0-9][\w&'’.-]*|&),?\s+){1,6}"
    r"(?:Inc|INC|Incorporated|INCORPORATED|LLC|L\.L\.C|Ltd|LTD|Limited|LIMITED|Corporation|CORPORATION|Corp|CORP|"
    r"Company|COMPANY|Co|CO|PLC|plc|LLP|L\.P|LP|N\.A|S\.A|GmbH|AG|B\.V|N\.V|Holdings|HOLDINGS|Trust|TRUST)"
    r"(?:\.(?!\w))?(?![\w])"
)
_ORG_STOP = re.compile(r"^(?:The|THE|This|THIS|Each|EACH|Such|SUCH|Said|SAID|Both|BOTH|And|AND|Between|BETWEEN|By|BY|"
                       r"With|WITH|Of|OF|For|FOR|To|TO|In|IN|On|ON|From|FROM|Whereas|WHEREAS|Agreement|AGREEMENT)\s+")


def trim_org(name: str) -> tuple[int, str]:
    """Drop leading function words ("between Acme Inc." → "Acme Inc."); returns (chars dropped, name)."""
    dropped = 0
    while True:
        m = _ORG_STOP.match(name)
        if not m:
            return dropped, name
        dropped += m.end()
        name = name[m.end() :]
