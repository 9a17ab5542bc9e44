"""``tanul forecast`` on your own CSV: options, the gaps rule, and one clear line (exit 2, no
traceback) for each bad input (issues 12 and 17)."""

import numpy as np
import pytest

from tanul.cli import main
from tanul.datasets.weather import load_temperature_csv

FAST = ["--epochs", "2", "--ensemble", "1", "--horizons", "1", "7", "--no-plots"]


def _daily(start="2004-01-01", years=5, seed=0):
    rng = np.random.default_rng(seed)
    first = np.datetime64(start)
    n = int((np.datetime64(str(int(start[:4]) + years) + start[4:]) - first).astype(int))
    dates = first + np.arange(n)
    doy = (dates - dates.astype("datetime64[Y]")).astype(int)
    a = np.zeros(n)
    for i in range(1, n):
        a[i] = 0.8 * a[i - 1] + rng.normal(0, 1.5)
    return dates, 11 - 11 * np.cos(2 * np.pi * doy / 365.25) + a, 1013 + rng.normal(0, 8, n)


def _write_hu(path, dates, temp, pres):
    """A HungaroMet-like export: ';' separated, ',' decimal, dates as 2004.01.31."""
    lines = ["datum;homerseklet;legnyomas"]
    for d, t, p in zip(dates, temp, pres):
        lines.append(f"{str(d).replace('-', '.')};{t:.1f};{p:.1f}".replace(".", ",")
                     .replace(",", ".", 2))   # 2004.01.31;-1,5;1013,2
    path.write_text("\n".join(lines) + "\n")
    return path


HU = ["--sep", ";", "--decimal", ",", "--date-column", "datum", "--temp-column", "homerseklet",
      "--date-format", "%Y.%m.%d"]


def _err(capsys, argv):
    rc = main(["forecast", *argv])
    out = capsys.readouterr()
    assert rc == 2, out
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.err, out.err
    return lines[0]


def test_hungarian_export_with_inputs_end_to_end(tmp_path, capsys):
    dates, temp, pres = _daily()
    f = _write_hu(tmp_path / "bp.csv", dates, temp, pres)
    w = load_temperature_csv(f, "datum", "homerseklet", sep=";", decimal=",", date_format="%Y.%m.%d",
                             inputs=["legnyomas"])
    assert w["temp_mean"][:3].tolist() == [round(v, 1) for v in temp[:3]]
    assert w["legnyomas"][0] == round(pres[0], 1) and w.dates[0] == np.datetime64("2004-01-01")
    out = tmp_path / "run"
    assert main(["forecast", "--csv", str(f), *HU, "--inputs", "legnyomas", "--out", str(out), *FAST]) == 0
    printed = capsys.readouterr().out
    assert "CUSTOM_legnyomas(t-2)" in (out / "training_data.csv").read_text().splitlines()[0]
    first = (out / "forecast.csv").read_text().splitlines()
    assert first[1].startswith("2008-12-31,1,2009-01-01,")
    assert "Forecast for CUSTOM issued as of 2008-12-31" in printed
    # newer observations: the saved forecaster, the saved CSV options, no training
    d2, t2, p2 = _daily("2009-01-01", years=1, seed=1)
    g = _write_hu(tmp_path / "new.csv", d2[:60], t2[:60], p2[:60])
    assert main(["forecast", "--from", str(out), "--csv", str(g), *HU, "--as-of", "2009-02-20",
                 "--out", str(tmp_path / "new")]) == 0
    rows = (tmp_path / "new" / "forecast.csv").read_text().splitlines()
    assert [r.split(",")[:3] for r in rows[1:]] == [["2009-02-20", "1", "2009-02-21"], ["2009-02-20", "7", "2009-02-27"]]
    assert float(rows[1].split(",")[-1]) == round(t2[51], 1)   # observed on 21 Feb
    # data in Fahrenheit is refused, naming the column
    fahrenheit = _write_hu(tmp_path / "f.csv", d2[:60], t2[:60] * 1.8 + 32 + 40, p2[:60])
    line = _err(capsys, ["--from", str(out), "--csv", str(fahrenheit), *HU])
    assert "does not match the forecaster's units: CUSTOM_temp_mean has median" in line
    # a forecaster trained with an input cannot read a file without it (the saved CSV options ask for it)
    bare = tmp_path / "bare.csv"
    bare.write_text("datum;homerseklet\n" + "".join(f"{str(d).replace('-', '.')};{t:.1f}\n".replace(".", ",")
                                                     .replace(",", ".", 2) for d, t in zip(d2[:60], t2[:60])))
    line = _err(capsys, ["--from", str(out), "--csv", str(bare), *HU])
    assert f"{bare}: no column 'legnyomas'; the header (sep ';') has datum, homerseklet" in line


def test_gaps_rule(tmp_path):
    text = "date,temperature\n" + "".join(f"2001-01-{d:02d},{v}\n" for d, v in
                                         [(1, 1.0), (2, 2.0), (5, 8.0), (6, ""), (7, 9.0), (15, 3.0), (16, 4.0)])
    f = tmp_path / "g.csv"
    f.write_text(text)
    w = load_temperature_csv(f)
    t = w["temp_mean"]
    assert len(w) == 16 and w.dates[-1] == np.datetime64("2001-01-16")
    np.testing.assert_allclose(t[:7], [1, 2, 4, 6, 8, 8.5, 9])       # 3-4 Jan and 6 Jan interpolated
    assert np.isnan(t[7:14]).all()                                     # 8-14 Jan: 7 days, left as a gap
    assert w.notes == ["temp_mean: interpolated 2 missing day(s) 2001-01-03 .. 2001-01-04",
                       "temp_mean: interpolated 1 missing day(s) 2001-01-06",
                       "temp_mean: left a gap of 7 day(s) 2001-01-08 .. 2001-01-14 (windows crossing it are dropped)"]
    from tanul.forecast import ForecastConfig, build_samples
    s = build_samples(w, ForecastConfig(lags=2, horizons=(1,)), 1)
    assert [str(d) for d in s["dates"]] == ["2001-01-02", "2001-01-03", "2001-01-04", "2001-01-05",
                                            "2001-01-06"]   # no window or target in the gap


@pytest.mark.parametrize("body, expected", [
    ("date,temperature\n2001-01-01,1\n2001-01-01,2\n", r"row 3, column 'date': duplicate date \(2001-01-01 after 2001-01-01 on row 2\)"),
    ("date,temperature\n2001-01-02,1\n2001-01-01,2\n", r"row 3, column 'date': dates not in increasing order"),
    ("date,temperature\n2001-01-01,1\n2001-01-02,warm\n", r"row 3, column 'temperature': not a number \('warm'"),
    ("date,temperature\n2001-01-01,1\n2001-01-32,2\n", r"row 3, column 'date': malformed date '2001-01-32'"),
    ("temperature,date\n1.5,2001-01-01\n2.5\n", r"row 3 has 1 field\(s\), the header has 2 \(no value for column 'date'\)"),
    ("day,temp\n2001-01-01,1\n", r"no column 'date'; the header \(sep ','\) has day, temp"),
    ("", r"the file is empty"),
])
def test_bad_csv_is_one_line_naming_file_row_column(tmp_path, capsys, body, expected):
    import re
    f = tmp_path / "bad.csv"
    f.write_text(body)
    line = _err(capsys, ["--csv", str(f), "--out", str(tmp_path / "o"), *FAST])
    assert str(f) in line and re.search(expected, line), line


def test_a_huge_field_is_one_line(tmp_path, capsys):
    f = tmp_path / "huge.csv"
    f.write_text("date,temperature\n2001-01-01,1\n2001-01-02," + "9" * 200_000 + "\n")
    line = _err(capsys, ["--csv", str(f), *FAST])
    assert f"{f}: row 3: unreadable CSV (field larger than field limit" in line


def test_a_constant_series_is_one_line(tmp_path, capsys):
    dates, _, _ = _daily()
    f = tmp_path / "flat.csv"
    f.write_text("date,temperature\n" + "".join(f"{d},4.0\n" for d in dates))
    line = _err(capsys, ["--csv", str(f), "--out", str(tmp_path / "o"), *FAST])
    assert "column 'CUSTOM_temp_mean' is constant (4 on every day): there is nothing to forecast" in line


def test_bad_settings_are_one_line(tmp_path, capsys):
    dates, temp, _ = _daily()
    f = tmp_path / "ok.csv"
    f.write_text("date,temperature\n" + "".join(f"{d},{t:.1f}\n" for d, t in zip(dates, temp)))
    line = _err(capsys, ["--csv", str(f), "--ensemble", "0", "--horizons", "1"])
    assert "expected ensemble >= 1 network (an integer), got 0" in line
    line = _err(capsys, ["--csv", str(f), "--as-of", "2030-01-01", *FAST])
    assert "--as-of 2030-01-01 is outside the data (2004-01-01 .. 2008-12-31)" in line
    line = _err(capsys, ["--csv", str(f), "--as-of", "2005-03-01", *FAST])   # too short for train/val/test
    assert f"{f}: too little history for horizon 1: the train period has no sample" in line
    line = _err(capsys, ["--csv", str(f), "--horizons", "1500", "--ensemble", "1", "--epochs", "1"])
    assert "too little history for horizon 1500" in line
    line = _err(capsys, ["--from", str(tmp_path / "nothing"), "--csv", str(f)])
    assert "no forecaster.json here" in line
    line = _err(capsys, ["--csv", str(f), "--sep", ";;", *FAST])
    assert "--sep must be one character" in line


def test_cli_as_of_trains_and_issues_on_the_past_only(tmp_path):
    """With --as-of, training too stops there: scrambling every later row leaves forecast.csv as it was
    (except the observed values, looked up after the fact)."""
    dates, temp, _ = _daily()
    rng = np.random.default_rng(9)
    as_of = np.datetime64("2008-06-30")
    runs = []
    for k, t in enumerate((temp, np.where(dates > as_of, rng.normal(0, 30, len(temp)), temp))):
        f = tmp_path / f"s{k}.csv"
        f.write_text("date,temperature\n" + "".join(f"{d},{v:.2f}\n" for d, v in zip(dates, t)))
        assert main(["forecast", "--csv", str(f), "--as-of", str(as_of), "--out", str(tmp_path / f"o{k}"),
                     *FAST]) == 0
        runs.append([r.split(",")[:-1] for r in (tmp_path / f"o{k}" / "forecast.csv").read_text().splitlines()])
    assert runs[0] == runs[1] and runs[0][1][:3] == ["2008-06-30", "1", "2008-07-01"]
    observed = runs[0][1] + [(tmp_path / "o0" / "forecast.csv").read_text().splitlines()[1].split(",")[-1]]
    assert float(observed[-1]) == round(temp[dates == np.datetime64("2008-07-01")][0], 2)
