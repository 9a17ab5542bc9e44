"""The weather loader: the real file from ../shared and small files the tests write."""

import numpy as np
import pytest

from tanul.datasets import load_temperature_csv, weather


def test_budapest_from_the_shared_copy(weather_csv):
    w = weather("budapest", path=weather_csv.parent)
    assert w.city == "BUDAPEST" and len(w) == 3654
    assert w.dates[0] == np.datetime64("2000-01-01") and w.dates[-1] == np.datetime64("2010-01-01")
    assert set(w.columns) >= {"temp_mean", "temp_max", "humidity", "pressure"}
    assert w.units["temp_mean"] == "°C" and w.units["pressure"] == "1000 hPa"
    assert len(w.cities) == 18 and "DE_BILT" in w.cities
    assert -20 < w["temp_mean"].min() < w["temp_mean"].max() < 35
    assert "BUDAPEST, 3654 days" in repr(w)


def test_unknown_city_lists_the_known_ones(weather_csv):
    with pytest.raises(ValueError, match="unknown city 'GYOR'; known: BASEL, BUDAPEST"):
        weather("GYOR", path=weather_csv)


def _write(tmp_path, text, name="w.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_missing_and_malformed_values_are_named(tmp_path):
    head = "DATE,MONTH,X_temp_mean,X_humidity\n"
    p = _write(tmp_path, head + "20000101,1,1.5,0.8\n20000102,1,,0.7\n")
    with pytest.raises(ValueError, match=r"column 'X_temp_mean', row 3: value missing"):
        weather("X", path=p)
    p = _write(tmp_path, head + "20000101,1,1.5,0.8\n20000102,1,2.0,abc\n")
    with pytest.raises(ValueError, match=r"column 'X_humidity', row 3: value malformed \('abc'\)"):
        weather("X", path=p)
    p = _write(tmp_path, head + "20000101,1,1.5,0.8\n2000-13-45,1,2.0,0.5\n")
    with pytest.raises(ValueError, match="row 3, column 'DATE': malformed date '2000-13-45'"):
        weather("X", path=p)
    with pytest.raises(FileNotFoundError):
        weather("X", path=tmp_path / "none.csv")


def test_own_temperature_csv(tmp_path):
    p = _write(tmp_path, "date,temperature\n1901-01-01,-3.2\n1901-01-02,-4.0\n1901-01-03,1.5\n")
    w = load_temperature_csv(p)
    assert w["temp_mean"].tolist() == [-3.2, -4.0, 1.5] and str(w.dates[0]) == "1901-01-01"
    p = _write(tmp_path, "date,temperature\n1901-01-01,-3.2\n1901-01-03,1.6\n1901-01-08,2.0\n", "gap.csv")
    w = load_temperature_csv(p)   # one missing day is interpolated, four are left as a gap
    assert w["temp_mean"][:3].tolist() == pytest.approx([-3.2, -0.8, 1.6]) and np.isnan(w["temp_mean"][3:7]).all()
    assert w.notes[0] == "temp_mean: interpolated 1 missing day(s) 1901-01-02"
    assert w.notes[1].startswith("temp_mean: left a gap of 4 day(s) 1901-01-04 .. 1901-01-07")
    with pytest.raises(ValueError, match="no column 'temp'"):
        load_temperature_csv(p, temperature_column="temp")


def test_download_path_checks_the_sha256(monkeypatch, tmp_path, weather_csv):
    """Without a path the loader asks pooch for the file with the published SHA-256 and caches it."""
    pooch = pytest.importorskip("pooch")
    import shutil
    calls = []

    def fake_retrieve(url, known_hash, fname, path, **kw):
        calls.append((url, known_hash, fname))
        dest = tmp_path / fname
        shutil.copy(weather_csv, dest)
        return str(dest)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    w = weather("BUDAPEST", cache_dir=tmp_path)
    assert len(w) == 3654
    url, known_hash, fname = calls[0]
    assert known_hash == "sha256:6d5bf0b2cc53292603e710f2562f0296f9b1bd6782ecdfd70e3d6df07c358363"
    assert "zenodo.org/records/7525955" in url and fname == "weather_prediction_dataset.csv"


def test_all_sources_failing_is_one_oserror(monkeypatch, tmp_path):
    pooch = pytest.importorskip("pooch")

    def refuse(*a, **k):
        raise ConnectionError("offline")

    monkeypatch.setattr(pooch, "retrieve", refuse)
    with pytest.raises(OSError, match="could not download weather_prediction_dataset.csv"):
        weather("BUDAPEST", cache_dir=tmp_path)
