"""Prompts and few-shot examples for the LangExtract runs (imported by run_langextract.py in the LangExtract venv).

The field descriptions are those of evidex's schemas (examples/schemas/{kleister-nda,sroie}.yaml). Every
example text is a verbatim excerpt of a TRAIN document (ids below), never of an evaluated document:
Kleister-NDA ``train`` 031470434423a8c40105a4b404ced88b and 04bf0791804e8487c91ab84eaa47a335; SROIE ``train``
X00016469619 and X00016469612 (not in the seed-0 evaluation sample; run_langextract.py checks this).
Excerpts of one document are joined with ``\\n...\\n``. Values that the Kleister metric wants normalised (ISO
dates, "<number> <unit>" terms) are taught through a ``normalized`` attribute, LangExtract's own mechanism for
values that are not verbatim; the extraction_text stays verbatim so it can be aligned. A negative example (a
passage with no extractions) is not used: LangExtract 1.7.1's prompt validation raises
"Source tokens and extraction tokens cannot be empty." on it.
"""

from __future__ import annotations

from typing import Any

SEP = "\n...\n"

KLEISTER_PROMPT = """\
Extract the key facts of a non-disclosure agreement (NDA). Use exact text from the document for extraction_text; \
do not paraphrase. Extract only facts stated in the text; if the text holds none, return no extractions.
Classes:
- effective_date: date on which the agreement becomes legally binding (its effective date). \
Attribute "normalized": the date as YYYY-MM-DD.
- jurisdiction: US state or country whose law governs the agreement, e.g. New York, Delaware.
- party: each company or person that is a party to the agreement, name as written, e.g. Nitromed Inc.
- term: length of the agreement as a number and a unit. Attribute "normalized": e.g. "3 years", "11 months"."""

SROIE_PROMPT = """\
Extract the key information printed on a shop receipt. Use exact text from the receipt for extraction_text; \
do not paraphrase or reformat.
Classes:
- company: name of the company that issued the receipt, as printed.
- date: date of the receipt exactly as printed, e.g. 25/12/2018.
- address: address of the company as printed, lines joined by a space.
- total: total amount paid as printed, without currency, e.g. 9.00."""

# (train document id, text, [(class, extraction_text, attributes)])
KLEISTER_EXAMPLES: list[tuple[str, str, list[tuple[str, str, dict[str, str]]]]] = [
    (
        "031470434423a8c40105a4b404ced88b",
        "This Mutual Confidentiality Agreement (“Agreement”) is effective as of February 10, 2017 (“Effective Date”), "
        "between Kite Pharma,\nInc., a Delaware corporation having a place of business at 2225 Colorado Avenue, Santa "
        "Monica, CA 90404 (“Kite”) and Gilead Sciences, Inc.,\na Delaware corporation having a place of business at 333 "
        "Lakeside Drive, Foster City, CA 94404 (“Company”). Kite and Company may be\nreferred to herein individually as "
        "a “Party” and collectively as the “Parties.”"
        + SEP
        + "4.2 Survival. The Receiving Party’s obligations with respect to Confidential Information under Section 2 shall "
        "survive termination or\nexpiration of this Agreement, and shall expire seven (7) years from the Effective Date."
        + SEP
        + "5.3 Applicable Law. This Agreement shall be governed by and construed in accordance with the laws of the State "
        "of California without\nreference to its rules of conflicts of laws.",
        [
            ("effective_date", "February 10, 2017", {"normalized": "2017-02-10"}),
            ("party", "Kite Pharma,\nInc.", {}),
            ("party", "Gilead Sciences, Inc.", {}),
            ("term", "seven (7) years", {"normalized": "7 years"}),
            ("jurisdiction", "California", {}),
        ],
    ),
    (
        "04bf0791804e8487c91ab84eaa47a335",
        "MUTUAL NON-DISCLOSURE AGREEMENT dated as of September 23, 2009 (this “Agreement”) among ALTIMO HOLDINGS &\n"
        "INVESTMENTS LIMITED, a company organized under the laws of the British Virgin Islands (“Altimo”), TELENOR ASA, a "
        "company organized\nunder the laws of Norway (“Telenor”), and OPEN JOINT STOCK COMPANY “VIMPEL-COMMUNICATIONS”, "
        "an open joint stock company\norganized under the laws of the Russian Federation (“VimpelCom” and, together with "
        "Altimo and Telenor, collectively, the “Parties” and each,\nindividually, a “Party”)."
        + SEP
        + "7. This Agreement and any dispute, controversy or claim arising out of, relating to or in connection with this "
        "Agreement, or for the breach or\nalleged breach thereof (whether in contract, in tort or otherwise) shall be "
        "governed by, and construed in accordance with, the laws of the State of\nNew York, without giving effect to any "
        "conflicts of laws or other principles thereof that would result in the application of the laws of another"
        + SEP
        + "12. This Agreement shall become effective on the date hereof and shall continue until the earlier of (i) the "
        "signing of the definitive Transaction\ndocumentation, (ii) a period of twelve (12) months from the execution date "
        "of this Agreement, and (iii) the written agreement of the Parties to\nterminate this Agreement.",
        [
            ("effective_date", "September 23, 2009", {"normalized": "2009-09-23"}),
            ("party", "ALTIMO HOLDINGS &\nINVESTMENTS LIMITED", {}),
            ("party", "TELENOR ASA", {}),
            ("party", "OPEN JOINT STOCK COMPANY “VIMPEL-COMMUNICATIONS”", {}),
            ("jurisdiction", "New York", {}),
            ("term", "twelve (12) months", {"normalized": "12 months"}),
        ],
    ),
]

SROIE_EXAMPLES: list[tuple[str, str, list[tuple[str, str, dict[str, str]]]]] = [
    (
        "X00016469619",
        "TAN WOON YANN\nINDAH GIFT & HOME DECO\n27,JALAN DEDAP 13,\nTAMAN JOHOR JAYA,\n81100 JOHOR BAHRU,JOHOR.\n"
        "TEL:07-3507405\nFAX:07-3558160\nRECEIPT\n19/10/2018 20:49:59 #01\nCASHIER: CN\nLOCATION/SP: 05 /0531\n"
        "MB: MO26588\nROOM NO: 01\n050100035279\nDESC/ITEM\nQTY\nPRICE\nAMT(RM)\nST-PRIVILEGE CARD/GD INDAH\n88888\n1\n"
        "10.00\n10.00\nGF-TABLE LAMP/STITCH <I>\n62483\n1\n55.90\n55.90\n@DISC\n10.00%\n-5.59\n#TOTAL QTY\n2\n"
        "TOTAL AMT................. RM\n60.31\nROUNDING ADJ............\n-0.01\nRM\n60.30\n"
        "CASH.................... RM\n70.30\nCHANGE.................. RM\n10.00\nTHANK YOU ! PLEASE COME AGAIN !\n"
        "GOODS SOLD ARE NOT RETURNABLE",
        [
            ("company", "INDAH GIFT & HOME DECO", {}),
            ("address", "27,JALAN DEDAP 13, TAMAN JOHOR JAYA, 81100 JOHOR BAHRU,JOHOR.", {}),
            ("date", "19/10/2018", {}),
            ("total", "60.30", {}),
        ],
    ),
    (
        "X00016469612",
        "TAN WOON YANN\nBOOK TA .K(TAMAN DAYA) SDN BND\n789417-W\nNO.53 55,57 & 59, JALAN SAGU 18,\nTAMAN DAYA,\n"
        "81100 JOHOR BAHRU,\nJOHOR.\nDOCUMENT NO : TD01167104\nDATE:\n25/12/2018 8:13:39 PM\nCASHIER:\nMANIS\nMEMBER:\n"
        "CASH BILL\nCODE/DESC\nPRICE\nDISC\nAMOUNT\nQTY\nRM\nRM\n9556939040116\nKF MODELLING CLAY KIDDY FISH\n1 PC\n*\n"
        "9.000\n0.00\n9.00\nTOTAL:\nROUR DING ADJUSTMENT:\n0.00\nROUND D TOTAL (RM):\n9.00\nCASH\n10.00\nCHANGE\n1.00",
        [
            ("company", "BOOK TA .K(TAMAN DAYA) SDN BND", {}),
            ("address", "NO.53 55,57 & 59, JALAN SAGU 18, TAMAN DAYA, 81100 JOHOR BAHRU, JOHOR.", {}),
            ("date", "25/12/2018", {}),
            ("total", "9.00", {}),
        ],
    ),
]

FIELDS = {
    "kleister-nda": {"effective_date": False, "jurisdiction": False, "party": True, "term": False},  # name -> many
    "sroie": {"company": False, "date": False, "address": False, "total": False},
}


def spec(dataset: str) -> tuple[str, list[tuple[str, str, list[tuple[str, str, dict[str, Any]]]]]]:
    if dataset == "kleister-nda":
        return KLEISTER_PROMPT, KLEISTER_EXAMPLES
    if dataset == "sroie":
        return SROIE_PROMPT, SROIE_EXAMPLES
    raise SystemExit(f"no prompt/examples for dataset {dataset!r}")
