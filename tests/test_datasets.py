import hashlib
import io
import zipfile

import numpy as np
import pytest

from active_learning.datasets import DatasetFileNotFoundError, RemoteFile, load, resolve_file
from active_learning.datasets import wall_robot

ROWS4 = [
    "1.687,0.445,2.332,0.429,Slight-Right-Turn",
    "0.912,0.611,1.002,1.500,Move-Forward",
    "0.873,0.642,1.053,1.105,Sharp-Right-Turn",
    "2.100,0.300,1.900,0.700,Slight-Left-Turn",
]


def write_sensor_file(path, rows, trailing_newline=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(rows) + ("\n" if trailing_newline else "")
    path.write_text(text)
    return hashlib.md5(text.encode()).hexdigest()


@pytest.fixture
def tiny_files(tmp_path, monkeypatch):
    """Official-format 4- and 24-sensor files in a local root, with the registered md5s patched to match."""
    root = tmp_path / "datasets"
    md5_4 = write_sensor_file(root / "wall_robot" / "sensor_readings_4.data", ROWS4)
    rows24 = [",".join(["0.5"] * 24 + [row.split(",")[-1]]) for row in ROWS4]
    md5_24 = write_sensor_file(root / "wall_robot" / "sensor_readings_24.data", rows24)
    monkeypatch.setitem(wall_robot.FILES, 4, RemoteFile("sensor_readings_4.data", md5_4, None))
    monkeypatch.setitem(wall_robot.FILES, 24, RemoteFile("sensor_readings_24.data", md5_24, None))
    return root


def test_wall_robot_parses_official_format(tiny_files):
    ds = load("wall_robot", root=tiny_files, download=False)
    assert ds.features.shape == (4, 4) and ds.features.dtype == np.float64
    assert ds.labels.dtype == np.int64
    # alphabetical class numbering = OpenML code - 1
    assert ds.labels.tolist() == [3, 0, 1, 2]
    assert ds.class_names[0] == "Move-Forward" and ds.n_classes == 4
    ds24 = load("wall_robot", root=tiny_files, download=False, sensors=24)
    assert ds24.features.shape == (4, 24)


def test_wall_robot_rejects_bad_sensor_count(tiny_files):
    with pytest.raises(ValueError, match="sensors must be 4 or 24"):
        load("wall_robot", root=tiny_files, download=False, sensors=7)


@pytest.mark.parametrize(
    "row, message",
    [
        ("1.0,2.0,nan,3.0,Move-Forward", "non-finite"),
        ("1.0,2.0,3.0,4.0,Fly-Up", "unknown class"),
        ("1.0,2.0,3.0,Move-Forward", "columns"),
        ("1.0,abc,3.0,4.0,Move-Forward", "not a number"),
    ],
)
def test_bad_rows_raise_clear_errors(tmp_path, row, message):
    path = tmp_path / "bad.data"
    path.write_text("\n".join(ROWS4[:2] + [row]))
    with pytest.raises(ValueError, match=message):
        wall_robot.read_sensor_file(path, 4)


def test_resolve_prefers_local_then_mirror(tmp_path):
    text = b"hello"
    md5 = hashlib.md5(text).hexdigest()
    spec = RemoteFile("f.txt", md5, None)
    mirror = tmp_path / "mirror"
    (mirror / "ds").mkdir(parents=True)
    (mirror / "ds" / "f.txt").write_bytes(text)
    assert resolve_file("ds", spec, root=tmp_path / "root", mirror=mirror) == mirror / "ds" / "f.txt"
    (tmp_path / "root" / "ds").mkdir(parents=True)
    (tmp_path / "root" / "ds" / "f.txt").write_bytes(text)
    assert resolve_file("ds", spec, root=tmp_path / "root", mirror=mirror) == tmp_path / "root" / "ds" / "f.txt"


def test_missing_file_error_names_file_places_and_url(tmp_path):
    spec = RemoteFile("sensor_readings_4.data", "0" * 32, "https://example.invalid/wall.zip", "sensor_readings_4.data")
    with pytest.raises(DatasetFileNotFoundError) as info:
        resolve_file("wall_robot", spec, root=tmp_path / "root", mirror=tmp_path / "mirror", download=False)
    message = str(info.value)
    assert "sensor_readings_4.data" in message
    assert str(tmp_path / "root" / "wall_robot" / "sensor_readings_4.data") in message
    assert str(tmp_path / "mirror" / "wall_robot") in message
    assert "https://example.invalid/wall.zip" in message
    assert "--data-mirror" in message


def test_checksum_mismatch_is_rejected(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "f.txt").write_bytes(b"corrupted")
    spec = RemoteFile("f.txt", hashlib.md5(b"original").hexdigest(), None)
    with pytest.raises(DatasetFileNotFoundError, match="md5 differs"):
        resolve_file("ds", spec, root=tmp_path, download=False)


def test_download_extracts_member_and_checks_md5(tmp_path, monkeypatch):
    text = "\n".join(ROWS4).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("wall/sensor_readings_4.data", text)
    payload = buffer.getvalue()

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout: Response(payload))
    spec = RemoteFile("sensor_readings_4.data", hashlib.md5(text).hexdigest(), "https://example.org/w.zip", "sensor_readings_4.data")
    path = resolve_file("wall_robot", spec, root=tmp_path, download=True)
    assert path == tmp_path / "wall_robot" / "sensor_readings_4.data" and path.read_bytes() == text
    bad = RemoteFile("other.data", "0" * 32, "https://example.org/w.zip", "sensor_readings_4.data")
    with pytest.raises(DatasetFileNotFoundError, match="downloaded, but its md5 differs"):
        resolve_file("wall_robot", bad, root=tmp_path, download=True)
    assert not (tmp_path / "wall_robot" / "other.data").exists()


def test_download_failure_is_reported(tmp_path, monkeypatch):
    import urllib.error

    def fail(url, timeout):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("urllib.request.urlopen", fail)
    spec = RemoteFile("x.data", "0" * 32, "https://example.org/x.zip", "x.data")
    with pytest.raises(DatasetFileNotFoundError, match="download failed: .*no network"):
        resolve_file("ds", spec, root=tmp_path, download=True)


def test_real_wall_robot_file(mirror, tmp_path):
    ds = load("wall_robot", root=tmp_path, mirror=mirror, download=False)
    assert ds.features.shape == (5456, 4)
    assert np.bincount(ds.labels).tolist() == [2205, 2097, 328, 826]
    ds24 = load("wall_robot", root=tmp_path, mirror=mirror, download=False, sensors=24)
    assert ds24.features.shape == (5456, 24) and (ds24.labels == ds.labels).all()
