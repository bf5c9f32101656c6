"""Uploads are safe: size limits (as uploaded and as unpacked), data formats only (never
pickle), XSRF protection on, the server local only.

The decompression limits are part of :mod:`hotspots.io.limits` (512 MiB for uploads, 4 GiB on
the command line); the tests lower them (the loaders read them when a load starts) so that a
small "bomb" exceeds them, and check that the loaders stop at the limit instead of unpacking
everything. The hostile files of issue 14 are in ``test_io_limits.py``.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import zip_bytes

import hotspots.io.limits as limits_mod
from hotspots import HotspotsError, InputError, LimitError, ParameterError
from hotspots.app_support import MAX_UPLOAD_BYTES, load_uploads
from hotspots.io import (
    BATCH_LIMITS,
    SUPPORTED_FORMATS,
    UPLOAD_LIMITS,
    Upload,
    load_any,
    load_boundary,
    load_incidents,
    load_police_uk,
)

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / ".streamlit" / "config.toml"
KINDS = ("incidents", "referrals", "tasks", "boundary")
MiB = 1024 * 1024


def police_csv(n: int = 20) -> bytes:
    head = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
            "Last outcome category,Context\n")
    # three places: incidents all at one place cannot be analysed (hotspots.preparation.check_several_places)
    rows = [f",2024-01,Derbyshire Constabulary,Derbyshire Constabulary,-1.47,52.9{i % 3},On or near X,E01,Derby 001A,"
            "Anti-social behaviour,,\n" for i in range(n)]
    return (head + "".join(rows)).encode()


class FakeUploadedFile(io.BytesIO):
    """What Streamlit hands the app: a binary file object with ``name`` and ``size``."""

    def __init__(self, name: str, data: bytes):
        super().__init__(data)
        self.name = name
        self.size = len(data)


@pytest.fixture
def small_limit(monkeypatch):
    """The unpacked-size limit of both sets lowered to 1 MiB for the duration of a test."""
    monkeypatch.setattr(limits_mod, "UPLOAD_LIMITS", UPLOAD_LIMITS.replace(max_unpacked_bytes=MiB))
    monkeypatch.setattr(limits_mod, "BATCH_LIMITS", BATCH_LIMITS.replace(max_unpacked_bytes=MiB))
    return MiB


# =============================================================================== size limits
def test_the_limits_are_what_the_docs_say():
    cfg = tomllib.loads(CONFIG.read_text())
    assert MAX_UPLOAD_BYTES == cfg["server"]["maxUploadSize"] * MiB == 500 * MiB
    assert UPLOAD_LIMITS.max_unpacked_bytes == 512 * MiB and BATCH_LIMITS.max_unpacked_bytes == 4 * 1024**3


def test_app_upload_path_refuses_a_file_over_the_upload_limit_with_a_message():
    big = police_csv(40_000)  # ~4 MB
    assert len(big) > 3 * MiB
    good = police_csv(30)
    bundle, outcomes = load_uploads(
        incidents=[FakeUploadedFile("2024-01-big-street.csv", big), FakeUploadedFile("2024-02-ok-street.csv", good)],
        max_bytes=3 * MiB,
    )
    errors = [o for o in outcomes if not o.ok]
    assert len(errors) == 1 and errors[0].files == ("2024-01-big-street.csv",)
    msg = errors[0].error
    assert "more than the upload limit of 3 MB" in msg and "`server.maxUploadSize`" in msg and "Split it" in msg
    # The other file loads.
    assert bundle is not None and len(bundle.incidents) == 30
    # Without a limit the big file loads too (the check above is what refused it).
    bundle, outcomes = load_uploads(incidents=[FakeUploadedFile("2024-01-big-street.csv", big)], max_bytes=None)
    assert bundle is not None and len(bundle.incidents) == 40_000


def test_upload_limit_applies_to_every_kind_and_checks_the_bytes_not_only_the_claimed_size():
    class Liar(FakeUploadedFile):
        def __init__(self, name, data):
            super().__init__(name, data)
            self.size = 10  # claims to be small

    data = police_csv(2_000)
    for kind in ("incidents", "referrals", "tasks"):
        _, outcomes = load_uploads(**{kind: [Liar(f"{kind}.csv", data)]}, max_bytes=50_000)
        (o,) = outcomes
        assert not o.ok and "upload limit" in o.error and o.kind == kind
    _, outcomes = load_uploads(boundary=Liar("b.geojson", b"{" + b" " * 60_000 + b"}"), max_bytes=50_000)
    assert not outcomes[0].ok and "upload limit" in outcomes[0].error


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "500"])
def test_upload_limit_is_validated(bad):
    with pytest.raises(ParameterError, match="max_bytes"):
        load_uploads(incidents=[Upload("a.csv", police_csv(1))], max_bytes=bad)


def test_app_passes_the_configured_upload_limit():
    src = (REPO / "app.py").read_text()
    assert 'max_bytes=int(st.get_option("server.maxUploadSize")) * 1024 * 1024' in src


def _gzip_bomb(n_bytes: int) -> bytes:
    line = b"-1.47,52.92,2024-01-01,x\n"
    body = b"lon,lat,date,category\n" + line * (n_bytes // len(line) + 1)
    return gzip.compress(body, compresslevel=9)


def _lying(gz: bytes, claimed: int = 1000) -> bytes:
    """The same gzip data with a trailer that claims ``claimed`` unpacked bytes."""
    return gz[:-4] + struct.pack("<I", claimed)


def test_gzip_bomb_is_refused_at_the_limit(small_limit):
    bomb = _gzip_bomb(20 * MiB)
    assert len(bomb) < 200_000  # 20 MiB packed into a few kB
    for name in ("bomb.csv.gz", "bomb.csv"):  # gzip data is recognised by content, whatever the name
        # Refused from its trailer before anything is unpacked ...
        trailer = r"unpacks to 20\.0 MiB by its files' sizes and gzip trailers, more than the app upload limit"
        with pytest.raises(LimitError, match=trailer):
            load_incidents(Upload(name, bomb))
        # ... and, when the trailer lies, while it is unpacked.
        with pytest.raises(LimitError, match=r"unpacks to more than the app upload limit of 1\.0 MiB per load"):
            load_incidents(Upload(name, _lying(bomb)))
    _, outcomes = load_uploads(incidents=[FakeUploadedFile("bomb.csv.gz", _lying(bomb))])
    assert not outcomes[0].ok and "unpacks to more than" in outcomes[0].error
    # Under the limit the same kind of file loads (the limit is what refused it).
    small = _gzip_bomb(MiB // 4)
    data, report = load_incidents(Upload("small.csv.gz", small))
    assert report.rows_read == report.rows_kept > 10_000


def test_gzip_bomb_is_never_unpacked_beyond_the_limit(small_limit, monkeypatch):
    """The decompressor is asked for at most limit + 1 bytes (memory stays bounded)."""
    asked = []
    real = gzip.GzipFile.read

    def spy(self, size=-1):
        asked.append(size)
        return real(self, size)

    monkeypatch.setattr(gzip.GzipFile, "read", spy)
    with pytest.raises(LimitError, match="unpacks to more than"):
        load_incidents(Upload("bomb.csv.gz", _lying(_gzip_bomb(8 * MiB))))
    assert asked and all(0 <= s <= MiB + 1 for s in asked)




def test_zip_bomb_is_refused_from_its_directory(small_limit):
    body = police_csv(60_000)  # ~6 MB, deflates to a few kB
    bomb = zip_bytes({"2024-01-x-street.csv": body})
    assert len(bomb) < 100_000 < len(body)
    loaders = [(load_police_uk, {})] + [(load_any, {"kind": k}) for k in ("incidents", "referrals", "tasks")]
    for loader, kw in loaders:
        with pytest.raises(LimitError, match=r"unpacks to .*, more than the app upload limit of 1\.0 MiB per load"):
            loader(Upload("bomb.zip", bomb), **kw)
    _, outcomes = load_uploads(incidents=[FakeUploadedFile("bomb.zip", bomb)])
    assert not outcomes[0].ok and "unpacks to" in outcomes[0].error
    # A boundary in a ZIP too.
    poly = b'{"type":"Polygon","coordinates":[[[-1.5,52.9],[-1.4,52.9],[-1.4,53.0],[-1.5,52.9]]]}'
    with pytest.raises(LimitError, match=r"unpacks to 2\.0 MiB, more than the app upload limit of 1\.0 MiB"):
        load_boundary(Upload("b.zip", zip_bytes({"b.geojson": poly + b" " * (2 * MiB)})))


def test_zip_member_that_lies_about_its_size_is_not_unpacked_beyond_its_claim(small_limit):
    """A crafted ZIP whose directory claims a small member: zipfile stops at the claimed size
    (and the CRC check fails), so the limit from the directory holds."""
    body = police_csv(60_000)
    data = bytearray(zip_bytes({"2024-01-x-street.csv": body}))
    claimed = 1000
    # Patch the uncompressed size in the local header (offset 22) and the central directory (offset 24).
    assert data[:4] == b"PK\x03\x04"
    struct.pack_into("<I", data, 22, claimed)
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, claimed)
    with pytest.raises(InputError, match="cannot be extracted|damaged"):
        load_police_uk(Upload("liar.zip", bytes(data)))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0]
    assert info.file_size == claimed


def test_gzip_inside_a_zip_is_limited_too(small_limit):
    """A member past the limit refuses the whole load (a partial load would be analysed as if it
    were everything), naming the member."""
    inner = _gzip_bomb(20 * MiB)
    z = zip_bytes({"2024-01-x-street.csv.gz": inner, "2024-02-x-street.csv": police_csv(5)})
    with pytest.raises(LimitError, match=r"z\.zip:2024-01-x-street\.csv\.gz: unpacks to more than"):
        load_police_uk(Upload("z.zip", z))
    # Under the limit the same archive loads both members.
    z = zip_bytes({"2024-01-x-street.csv.gz": gzip.compress(police_csv(7)), "2024-02-x-street.csv": police_csv(5)})
    assert load_police_uk(Upload("z.zip", z)).report.rows_read == 12


def _parquet(table: pa.Table, **kw) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("stored_as", ["dictionary", "plain"])
def test_parquet_bomb_is_refused_before_it_is_unpacked(small_limit, stored_as):
    """Parquet's dictionary and run-length encodings let a small file describe huge columns."""
    n, text = 20_000, "x" * 2_000  # 40 MB of text
    if stored_as == "dictionary":  # one dictionary value repeated: a few hundred bytes on disk
        col = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([text]))
        raw = _parquet(pa.table({"category": col, "lon": pa.array(np.full(n, -1.47)), "lat": pa.array(np.full(n, 52.92))}))
    else:  # plain strings, compressed
        lon, lat = pa.array(np.full(n, -1.47)), pa.array(np.full(n, 52.92))
        plain = pa.table({"category": pa.array([text] * n), "lon": lon, "lat": lat})
        raw = _parquet(plain,
                       use_dictionary=False, compression="zstd")
    assert len(raw) < 300_000
    with pytest.raises(LimitError, match=r"unpacks? to .* or more in memory .*decompression bomb.*app upload limits"):
        load_incidents(Upload("bomb.parquet", raw))
    _, outcomes = load_uploads(incidents=[FakeUploadedFile("bomb.parquet", raw)])
    assert not outcomes[0].ok and "decompression bomb" in outcomes[0].error


def test_parquet_run_length_bomb_of_numbers_is_refused(small_limit):
    n = 900_000  # 7 MB of float64 zeros per column in a few kB (under the upload row limit)
    raw = _parquet(pa.table({"lon": pa.array(np.zeros(n)), "lat": pa.array(np.zeros(n))}), compression="zstd")
    assert len(raw) < 200_000
    with pytest.raises(LimitError, match="values unpack to 13.7 MiB or more"):
        load_incidents(Upload("zeros.parquet", raw))


def test_parquet_under_the_limit_loads_with_its_text_and_categoricals(small_limit):
    df = pd.DataFrame({
        "lon": [-1.47, -1.48, -1.49], "lat": [52.92, 52.93, 52.94], "date": ["2024-01-01", "2024-02-01", "2024-03-01"],
        "category": pd.Categorical(["a", "b", "a"]), "location": ["On or near <b>x</b>", None, "y"],
    })
    buf = io.BytesIO()
    df.to_parquet(buf)
    data, report = load_incidents(Upload("ok.parquet", buf.getvalue()))
    assert report.rows_read == 3 and data["category"].tolist() == ["a", "b", "a"]
    assert data["location"].tolist()[0] == "On or near <b>x</b>"


# =============================================================================== data formats only
class _Marker:
    """Unpickling this object creates a file: the proof that something was unpickled."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _pickles(marker: Path) -> dict[str, bytes]:
    out = {f"protocol {p}": pickle.dumps(_Marker(marker), protocol=p) for p in range(0, pickle.HIGHEST_PROTOCOL + 1)}
    df = pd.DataFrame({"lon": [-1.47], "lat": [52.92], "date": ["2024-01-01"]})
    out["pandas frame (protocol 5)"] = pickle.dumps(df, protocol=5)
    return out


NAMES = ["evil.csv", "evil.parquet", "evil.geojson", "evil.json", "evil.gpkg", "evil.csv.gz", "evil.pkl", "evil.pickle",
         "evil.joblib", "evil.npy"]


@pytest.mark.parametrize("kind", KINDS)
def test_pickles_under_any_name_are_refused_and_never_unpickled(tmp_path, kind, monkeypatch):
    marker = tmp_path / "unpickled.txt"
    calls = []
    for mod, attr in ((pickle, "loads"), (pickle, "load"), (pd, "read_pickle")):
        real = getattr(mod, attr)
        monkeypatch.setattr(mod, attr, lambda *a, _real=real, _n=attr, **k: calls.append(_n) or _real(*a, **k))
    for label, blob in _pickles(marker).items():
        for name in NAMES:
            data = gzip.compress(blob) if name.endswith(".gz") else blob
            with pytest.raises(HotspotsError) as info:
                load_any(Upload(name, data), kind=kind)
            msg = str(info.value)
            assert name in msg or "evil" in msg, msg
            binary_pickle = label not in ("protocol 0", "protocol 1") and not name.endswith(".gz")
            if name.endswith((".pkl", ".pickle", ".joblib")) or (binary_pickle and "unsupported file type" not in msg):
                assert "pickle" in msg.lower() or "NumPy" in msg, (label, name, msg)
            # The same file inside a ZIP, and through the app's upload path.
            z = zip_bytes({name.replace("evil", "2024-01-x-street"): data})
            with pytest.raises(HotspotsError):
                load_any(Upload("evil.zip", z), kind=kind if kind != "boundary" else "incidents")
            upload = FakeUploadedFile(name, data)
            _, outcomes = load_uploads(**({"boundary": upload} if kind == "boundary" else {kind: [upload]}))
            assert outcomes and not outcomes[0].ok and outcomes[0].error
    assert not marker.exists(), "a pickle was unpickled"
    assert calls == []


def test_protocol_2_to_5_pickles_are_named_as_pickles(tmp_path):
    marker = tmp_path / "m"
    for p in range(2, pickle.HIGHEST_PROTOCOL + 1):
        blob = pickle.dumps(_Marker(marker), protocol=p)
        for name in ("data.csv", "data.parquet", "data.geojson", "data.gpkg"):
            with pytest.raises(InputError, match="looks like a Python pickle; it is never unpickled"):
                load_any(Upload(name, blob))
    assert not marker.exists()


def test_app_offers_only_data_formats():
    import ast

    tree = ast.parse((REPO / "app.py").read_text())
    types = next(
        ast.literal_eval(node.value) for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "UPLOAD_TYPES" for t in node.targets)
    )
    data_exts = {k.lstrip(".").split(".")[-1] for k in SUPPORTED_FORMATS} | {"gz"}
    assert set(types) <= data_exts
    assert not {"pkl", "pickle", "joblib", "npy", "npz", "xlsx", "xls"} & set(types)


def test_a_pickle_among_several_files_is_reported_and_the_rest_load(tmp_path):
    marker = tmp_path / "m"
    blob = pickle.dumps(_Marker(marker), protocol=4)
    data, report = load_police_uk([Upload("2024-01-x-street.csv", police_csv(3)), Upload("2024-02-x-street.csv", blob)])
    assert report.rows_kept == 3
    assert any("2024-02-x-street.csv" in w and "pickle" in w for w in report.warnings)
    assert not marker.exists()


# =============================================================================== XSRF and other server settings
def test_config_keeps_xsrf_protection_on_and_error_details_off():
    cfg = tomllib.loads(CONFIG.read_text())
    server = cfg["server"]
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True
    assert isinstance(server["maxUploadSize"], int) and 0 < server["maxUploadSize"] <= 2000
    assert cfg["client"]["showErrorDetails"] in ("none", False)
    assert cfg["browser"]["gatherUsageStats"] is False


def test_nothing_turns_xsrf_protection_off():
    """No launcher, script or secrets file overrides the setting."""
    texts = []
    for path in [REPO / "app.py", *REPO.glob("scripts/*"), *REPO.glob(".streamlit/*"), *REPO.glob("*.md"),
                 *REPO.glob("hotspots/**/*.py")]:
        if path.is_file():
            texts.append((path, path.read_text(errors="replace")))
    for path, text in texts:
        low = text.lower().replace("_", "").replace("-", "")
        for bad in ("enablexsrfprotection false", "enablexsrfprotection=false", "enablexsrfprotection = false",
                    "streamlitserverenablexsrfprotection"):
            assert bad not in low, f"{path} turns XSRF protection off ({bad})"
    assert not (REPO / ".streamlit" / "secrets.toml").exists() or "auth" not in (REPO / ".streamlit" / "secrets.toml").read_text()


def test_streamlit_reads_the_config_with_xsrf_on(tmp_path):
    """Streamlit itself, started from the repository (as `streamlit run app.py` is), sees the settings."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    code = (
        "from streamlit import config; config.get_config_options(force_reparse=True);"
        "from streamlit.web.server.server_util import is_xsrf_enabled;"
        "print(config.get_option('server.enableXsrfProtection'), is_xsrf_enabled(), config.get_option('server.maxUploadSize'),"
        " config.get_option('client.showErrorDetails'))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "500", "none"]


# =============================================================================== local by default (issue 14)
def test_config_binds_the_app_to_this_machine_only():
    assert tomllib.loads(CONFIG.read_text())["server"]["address"] == "127.0.0.1"


def _listening(port: int) -> list[str]:
    """Local addresses of the sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, p = local.split(":")
            if int(p, 16) == port and state == "0A":  # LISTEN
                found.append(addr)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_streamlit_started_from_the_repository_listens_on_loopback_only(tmp_path):
    """`streamlit run` in the repository, without --server.address, takes the config's address:
    the socket is bound to 127.0.0.1, not to every interface."""
    import socket
    import subprocess
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = tmp_path / "hello.py"
    script.write_text("import streamlit as st\nst.write('hello')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:  # noqa: S310 - local
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "streamlit did not start"
            time.sleep(0.3)
        addrs = _listening(port)
        assert addrs == ["0100007F"], addrs  # 127.0.0.1 only: no 0.0.0.0, no ::
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def test_a_damaged_gzip_trailer_is_not_taken_as_its_size(small_limit):
    """A truncated gzip file's last bytes are not a size: it is reported as damaged, not as too big."""
    gz = gzip.compress(police_csv(50))
    cut = gz[:60] + struct.pack("<I", 3_000_000_000)  # a trailer deflate could not have produced
    data, report = load_police_uk([Upload("2024-01-x-street.csv", police_csv(3)), Upload("2024-02-x-street.csv.gz", cut)])
    assert report.rows_read == 3 and any("2024-02-x-street.csv.gz" in w and "gzip" in w for w in report.warnings)
