"""What a forecasting run writes (``tanul.forecast.report``), on a small result dict built by hand:
every file's exact text, the Markdown tables and the plots' content. No network is trained, so
these tests are fast and pin the report functions that the slow end-to-end runs only reach."""

import json
import math
import struct

import numpy as np
import pytest

from tanul.forecast import (
    ForecastConfig,
    forecast_rows_csv,
    forecast_table,
    metrics_markdown,
    report,
    write_outputs,
)

METHODS = ["issued", "shrunk", "stacked", "network", "ridge", "ridge_anomaly", "climatology", "persistence"]
# each method's error on every sample, so that every column of predictions_h*.csv differs
OFFSET = {"issued": 0.0, "shrunk": 0.5, "stacked": 0.25, "network": -0.5, "ridge": 1.0, "ridge_anomaly": -1.0,
          "climatology": 2.0, "persistence": -2.0}


def _horizon(h, first_day, y, x, train, val, issued_error, method, shrink, history, net=None):
    n = len(y)
    dates = np.datetime64(first_day) + np.arange(n)
    y = np.asarray(y, dtype=float)
    preds = {m: y + OFFSET[m] for m in METHODS}
    preds["issued"] = y + np.asarray(issued_error, dtype=float)
    bands = {"lower_80": preds["issued"] - 1, "upper_80": preds["issued"] + 1,
             "lower_95": preds["issued"] - 2, "upper_95": preds["issued"] + 2}
    tr = np.zeros(n, bool)
    tr[:train] = True
    va = np.zeros(n, bool)
    va[train:train + val] = True
    r = {"samples": {"dates": dates, "target_dates": dates + h, "y": y, "x": np.asarray(x, dtype=float),
                     "feature_names": ["A_temp_mean(t)", f"sin_doy(t+{h})"]},
         "split": {"train": tr, "val": va, "test": ~(tr | va)},
         "predictions": preds, "bands": bands, "method": method, "shrink": shrink, "history": history}
    if net is not None:
        r["net_fit"], r["net_stop"] = (np.asarray(v, bool) for v in net)
    return r


def _metric_rows():
    """Rows of result["metrics"], in an order other than the table's (the table sets its own)."""
    rows = []
    for split, extra in (("val", 0.01), ("test", 0.0)):
        for h in (7, 1):
            for i, m in reversed(list(enumerate(["issued", "network", "ridge", "climatology", "persistence",
                                                  "shrunk"]))):
                mae = h + i / 4 + extra
                rows.append({"horizon": h, "method": m, "split": split, "mae": mae, "rmse": 2 * mae,
                             "skill_vs_persistence": 0.5 if m == "issued" else float("nan"),
                             "skill_vs_climatology": -0.125,
                             "chosen": {1: "stacked", 7: "shrunk"}[h] if m == "issued" else "",
                             "coverage_80": {1: 0.8, 7: 0.5}[h] if m == "issued" else "",
                             "coverage_95": {1: 0.95, 7: 1.0}[h] if m == "issued" else ""})
    return rows


SKILL = [
    {"horizon": 1, "method": "issued", "baseline": "persistence", "skill": 0.123, "low_90": -0.05, "high_90": 0.3},
    {"horizon": 1, "method": "network", "baseline": "persistence", "skill": 0.9, "low_90": 0.8, "high_90": 0.95},
    {"horizon": 1, "method": "issued", "baseline": "climatology", "skill": float("nan"), "low_90": float("nan"),
     "high_90": float("nan")},
    {"horizon": 1, "method": "issued", "baseline": "network", "skill": 0.0, "low_90": 0.0, "high_90": 0.0},
    {"horizon": 7, "method": "issued", "baseline": "persistence", "skill": -0.25, "low_90": -0.5, "high_90": 0.01},
    {"horizon": 1, "method": "issued", "baseline": "ridge", "skill": 0.05, "low_90": 0.01, "high_90": 0.09},
    {"horizon": 7, "method": "issued", "baseline": "climatology", "skill": 0.02, "low_90": -0.03, "high_90": 0.07},
]

FORECAST = [
    {"issued": "2001-02-01", "horizon": 1, "target_date": "2001-02-02", "forecast": 1.234, "lower_80": -0.5,
     "upper_80": 2.25, "lower_95": -1.004, "upper_95": 3.996, "method": "stacked", "climatology": 0.75,
     "observed": 1.5},
    {"issued": "2001-02-01", "horizon": 7, "target_date": "2001-02-08", "forecast": -3.0, "lower_80": -4.25,
     "upper_80": -1.75, "lower_95": -5.5, "upper_95": -0.5, "method": "shrunk", "climatology": 0.25,
     "observed": float("nan")},
]


@pytest.fixture
def result():
    cfg = ForecastConfig(city="A", horizons=(1, 7), val_end="2001-01-29", train_end="2001-01-28")
    h1 = _horizon(1, "2001-01-26", [1, 2, 3, 4, 5, 6],
                  [[0.5, -1.0], [1.5, -0.5], [2.5, 0.0], [3.5, 0.5], [4.5, 1.0], [5.5, 1.5]],
                  train=2, val=2, issued_error=[0.1, 0.2, 0.3, 0.4, 0.5, -1.5], method="stacked", shrink=0.0,
                  history={"loss": [3.0, 2.0], "val_loss": [3.5, 2.5]},
                  net=([1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0]))
    h7 = _horizon(7, "2001-01-20", [7, 8, 9, 10], [[1, 2], [3, 4], [5, 6], [7, 8]], train=1, val=1,
                  issued_error=[0.0, 0.0, -2.0, 1.0], method="shrunk", shrink=0.42,
                  history={"loss": [1.0], "val_loss": [1.5]})
    return {"config": cfg, "horizons": {1: h1, 7: h7}, "metrics": _metric_rows(), "skill": SKILL}


# ---------------------------------------------------------------------- small writers
def test_fmt_and_csv_text():
    assert report._fmt("x") == "x" and report._fmt(3) == "3" and report._fmt(np.int64(4)) == "4"
    assert report._fmt(None) == "" and report._fmt(float("nan")) == "" and report._fmt(np.float64("nan")) == ""
    assert report._fmt(1.23456) == "1.2346" and report._fmt(1.23456, 2) == "1.23"
    assert report.csv_text(["a", "b"], [[1, "x,y"], [2, ""]]) == 'a,b\n1,"x,y"\n2,\n'


def test_atomic_text_writes_utf8_and_replaces(tmp_path):
    p = tmp_path / "t.md"
    report.atomic_text(p, "°C\n")
    report.atomic_text(p, "λ = 0.5\n")
    assert p.read_bytes() == "λ = 0.5\n".encode() and [q.name for q in tmp_path.iterdir()] == ["t.md"]


def test_forecast_rows_csv_by_hand():
    assert forecast_rows_csv(FORECAST) == (
        "issued,horizon,target_date,forecast,lower_80,upper_80,lower_95,upper_95,method,climatology,observed\n"
        "2001-02-01,1,2001-02-02,1.23,-0.50,2.25,-1.00,4.00,stacked,0.75,1.50\n"
        "2001-02-01,7,2001-02-08,-3.00,-4.25,-1.75,-5.50,-0.50,shrunk,0.25,\n")


def test_forecast_table_by_hand():
    assert forecast_table(FORECAST, "A") == (
        "Forecast for A issued as of 2001-02-01 (daily mean temperature, °C):\n"
        "\n"
        "| horizon | target date | forecast | 80 % interval | 95 % interval | method | climatology | observed |\n"
        "| ---: | --- | ---: | --- | --- | --- | ---: | ---: |\n"
        "| 1 d | 2001-02-02 | 1.2 | -0.5 .. 2.2 | -1.0 .. 4.0 | stacked | 0.8 | 1.5 |\n"
        "| 7 d | 2001-02-08 | -3.0 | -4.2 .. -1.8 | -5.5 .. -0.5 | shrunk | 0.2 |  |\n")
    assert forecast_table(FORECAST[1:]).startswith("Forecast issued as of 2001-02-01 (daily mean temperature")


# ---------------------------------------------------------------------- Markdown
TEST_MD = (
    "| method | MAE 1 d | RMSE 1 d | MAE 7 d | RMSE 7 d |\n"
    "| --- | ---: | ---: | ---: | ---: |\n"
    "| issued | 1.00 | 2.00 | 7.00 | 14.00 |\n"
    "| network | 1.25 | 2.50 | 7.25 | 14.50 |\n"
    "| ridge | 1.50 | 3.00 | 7.50 | 15.00 |\n"
    "| climatology | 1.75 | 3.50 | 7.75 | 15.50 |\n"
    "| persistence | 2.00 | 4.00 | 8.00 | 16.00 |\n"
    "\n"
    "Issued: 1 d stacked; 7 d shrunk (λ = 0.42).\n"
    "Interval coverage: 1 d 80 % → 80%, 95 % → 95%; 7 d 80 % → 50%, 95 % → 100%.\n"
    "\n"
    "Skill of the issued forecast, 1 − MAE/MAE_ref, with a 90 % paired block-bootstrap interval (blocks of "
    "30 test days):\n"
    "\n"
    "| horizon | vs persistence | vs climatology | vs ridge | vs network |\n"
    "| ---: | --- | --- | --- | --- |\n"
    "| 1 d | +12.3% [-5.0%, +30.0%] | — | +5.0% [+1.0%, +9.0%] | +0.0% [+0.0%, +0.0%] |\n"
    "| 7 d | -25.0% [-50.0%, +1.0%] | +2.0% [-3.0%, +7.0%] | — | — |\n")
VAL_MD = (
    "| method | MAE 1 d | RMSE 1 d | MAE 7 d | RMSE 7 d |\n"
    "| --- | ---: | ---: | ---: | ---: |\n"
    "| issued | 1.01 | 2.02 | 7.01 | 14.02 |\n"
    "| network | 1.26 | 2.52 | 7.26 | 14.52 |\n"
    "| ridge | 1.51 | 3.02 | 7.51 | 15.02 |\n"
    "| climatology | 1.76 | 3.52 | 7.76 | 15.52 |\n"
    "| persistence | 2.01 | 4.02 | 8.01 | 16.02 |\n"
    "\n"
    "Issued: 1 d stacked; 7 d shrunk (λ = 0.42).\n"
    "Interval coverage: 1 d 80 % → 80%, 95 % → 95%; 7 d 80 % → 50%, 95 % → 100%.\n")


def test_metrics_markdown_by_hand(result):
    assert metrics_markdown(result) == TEST_MD
    assert metrics_markdown(result, "val") == VAL_MD      # the skill table belongs to the test split only
    assert metrics_markdown({**result, "skill": []}) == TEST_MD[:TEST_MD.index("\nSkill")]
    one = {**result, "metrics": [r for r in result["metrics"] if r["horizon"] == 1]}
    assert metrics_markdown(one, "val").splitlines()[:3] == [
        "| method | MAE 1 d | RMSE 1 d |", "| --- | ---: | ---: |", "| issued | 1.01 | 2.02 |"]


# ---------------------------------------------------------------------- write_outputs
class _SavedForecaster:
    def __init__(self):
        self.saved_to = None

    def save(self, path):
        self.saved_to = path
        path.mkdir()
        return path


def test_write_outputs_files_by_hand(result, tmp_path):
    out = tmp_path / "new" / "run"          # created, parents too
    result["config"].extra = {"weights": np.array([0.5, 1.5])}    # free-form: arrays written as lists
    fc = _SavedForecaster()
    written = write_outputs(result, out, forecaster=fc, forecast=FORECAST, plots=False)
    names = ["config.json", "samples_h1.csv", "predictions_h1.csv", "samples_h7.csv", "predictions_h7.csv",
             "training_data.csv", "metrics.csv", "skill.csv", "forecast.csv", "metrics.md", "forecaster"]
    assert written == [out / n for n in names] and fc.saved_to == out / "forecaster"
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    text = {n: (out / n).read_text(encoding="utf-8") for n in names[:-1]}
    assert all("\r" not in t and t.endswith("\n") for t in text.values())

    cfg = json.loads(text["config.json"])
    assert cfg["city"] == "A" and cfg["horizons"] == [1, 7] and cfg["val_end"] == "2001-01-29"
    assert cfg["extra"] == {"weights": [0.5, 1.5]}
    assert text["config.json"].splitlines()[:2] == ["{", '  "city": "A",']     # indent 2

    assert text["samples_h1.csv"].splitlines() == [
        "date,target_date,split,target,A_temp_mean(t),sin_doy(t+1)",
        "2001-01-26,2001-01-27,train,1.0,0.5,-1.0",
        "2001-01-27,2001-01-28,train,2.0,1.5,-0.5",
        "2001-01-28,2001-01-29,val,3.0,2.5,0.0",
        "2001-01-29,2001-01-30,val,4.0,3.5,0.5",
        "2001-01-30,2001-01-31,test,5.0,4.5,1.0",
        "2001-01-31,2001-02-01,test,6.0,5.5,1.5"]
    assert text["samples_h7.csv"].splitlines()[1:] == [
        "2001-01-20,2001-01-27,train,7.0,1.0,2.0", "2001-01-21,2001-01-28,val,8.0,3.0,4.0",
        "2001-01-22,2001-01-29,test,9.0,5.0,6.0", "2001-01-23,2001-01-30,test,10.0,7.0,8.0"]

    pred = text["predictions_h1.csv"].splitlines()
    assert pred[0] == ("target_date,split,observed,issued,shrunk,stacked,network,ridge,ridge_anomaly,"
                       "climatology,persistence,lower_80,upper_80,lower_95,upper_95,method")
    assert pred[1] == ("2001-01-27,train,1.00,1.100,1.500,1.250,0.500,2.000,0.000,3.000,-1.000,"
                       "0.100,2.100,-0.900,3.100,stacked")
    assert pred[6] == ("2001-02-01,test,6.00,4.500,6.500,6.250,5.500,7.000,5.000,8.000,4.000,"
                       "3.500,5.500,2.500,6.500,stacked")
    assert [r.split(",")[1] for r in pred[1:]] == ["train", "train", "val", "val", "test", "test"]
    assert text["predictions_h7.csv"].splitlines()[3] == (
        "2001-01-29,test,9.00,7.000,9.500,9.250,8.500,10.000,8.000,11.000,7.000,6.000,8.000,5.000,9.000,shrunk")

    # the rows the networks saw: net_fit / net_stop where given, else training / validation
    assert text["training_data.csv"].splitlines() == [
        "horizon,role,date,target_date,target,A_temp_mean(t),sin_doy(target)",
        "1,fit,2001-01-26,2001-01-27,1.0,0.5,-1.0",
        "1,early_stopping,2001-01-27,2001-01-28,2.0,1.5,-0.5",
        "7,fit,2001-01-20,2001-01-27,7.0,1.0,2.0",
        "7,early_stopping,2001-01-21,2001-01-28,8.0,3.0,4.0"]

    metrics = text["metrics.csv"].splitlines()
    assert metrics[0] == ("horizon,method,split,mae,rmse,skill_vs_persistence,skill_vs_climatology,chosen,"
                          "coverage_80,coverage_95")
    assert len(metrics) == 1 + len(result["metrics"])
    assert "1,issued,test,1.0000,2.0000,0.5000,-0.1250,stacked,0.8000,0.9500" in metrics
    assert "7,persistence,val,8.0100,16.0200,,-0.1250,,," in metrics
    assert text["skill.csv"].splitlines() == [
        "horizon,method,baseline,skill,low_90,high_90",
        "1,issued,persistence,0.1230,-0.0500,0.3000", "1,network,persistence,0.9000,0.8000,0.9500",
        "1,issued,climatology,,,", "1,issued,network,0.0000,0.0000,0.0000",
        "7,issued,persistence,-0.2500,-0.5000,0.0100", "1,issued,ridge,0.0500,0.0100,0.0900",
        "7,issued,climatology,0.0200,-0.0300,0.0700"]
    assert text["forecast.csv"] == forecast_rows_csv(FORECAST)
    assert text["metrics.md"] == (
        "# A: test period (target dates after 2001-01-29)\n\n" + TEST_MD
        + "\n## Validation period (where the issued method was chosen)\n\n" + VAL_MD
        + "\n## Forecast\n\n" + forecast_table(FORECAST, "A"))


def test_write_outputs_without_forecast_or_forecaster(result, tmp_path):
    written = write_outputs(result, tmp_path, plots=False)
    names = {p.name for p in written}
    assert "forecast.csv" not in names and "forecaster" not in names and "metrics.md" in names
    assert not (tmp_path / "forecast.csv").exists()
    assert "## Forecast" not in (tmp_path / "metrics.md").read_text(encoding="utf-8")
    write_outputs(result, tmp_path, forecast=[], plots=False)          # an empty forecast: none either
    assert not (tmp_path / "forecast.csv").exists()


# ---------------------------------------------------------------------- plots
def _png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_plots_are_pngs_of_the_documented_size(result, tmp_path):
    pytest.importorskip("matplotlib")
    written = write_outputs(result, tmp_path)              # with plots by default
    pngs = [p.name for p in written if p.suffix == ".png"]
    assert pngs == ["predicted_vs_observed.png", "error_by_month.png", "learning_curves_h1.png",
                    "learning_curves_h7.png"]
    # 90 dpi: (10 × 2.6 per horizon) inches and 8 × 4 inches
    assert _png_size(tmp_path / "predicted_vs_observed.png") == (900, 468)
    assert _png_size(tmp_path / "error_by_month.png") == (720, 360)
    _png_size(tmp_path / "learning_curves_h7.png")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]    # no temporary files left


def test_plots_show_the_test_period(result, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from tanul import plot

    figs, curves = {}, []
    def keep(fig, path):
        figs[path.name] = fig
        return path

    monkeypatch.setattr(report, "_save", keep)
    monkeypatch.setattr(plot, "plot_history", lambda history, save=None: curves.append((history, save.name)))
    written = report._plots(result, tmp_path)
    assert [p.name for p in written] == ["predicted_vs_observed.png", "error_by_month.png",
                                         "learning_curves_h1.png", "learning_curves_h7.png"]
    assert curves == [(result["horizons"][1]["history"], "learning_curves_h1.png"),
                      (result["horizons"][7]["history"], "learning_curves_h7.png")]

    fig = figs["predicted_vs_observed.png"]
    assert tuple(fig.get_size_inches()) == pytest.approx((10, 5.2))
    assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    axes = fig.axes
    assert len(axes) == 2
    for ax, h in zip(axes, (1, 7)):
        r = result["horizons"][h]
        test = r["split"]["test"]
        assert ax.get_title() == f"{h} day(s) ahead, test period" and ax.get_ylabel() == "°C"
        observed, issued, clim = ax.get_lines()
        for line in (observed, issued, clim):       # against the test period's target dates
            np.testing.assert_array_equal(line.get_xdata(), r["samples"]["target_dates"][test])
        np.testing.assert_array_equal(observed.get_ydata(), r["samples"]["y"][test])
        np.testing.assert_array_equal(issued.get_ydata(), r["predictions"]["issued"][test])
        np.testing.assert_array_equal(clim.get_ydata(), r["predictions"]["climatology"][test])
        assert observed.get_color() == "black" and clim.get_linestyle() == "--"
        assert observed.get_linewidth() == issued.get_linewidth() == clim.get_linewidth() == 1
        legend = ax.get_legend()
        assert [t.get_text() for t in legend.get_texts()] == [
            "80 % interval", "observed", f"issued ({r['method']})", "climatology"]
        assert legend._loc == 2 and legend.get_texts()[0].get_fontsize() == 8      # 2: "upper left"
        assert ax.collections[0].get_alpha() == 0.25 and list(ax.collections[0].get_linewidths()) == [0]
        band = ax.collections[0].get_paths()[0].vertices[:, 1]
        lo, hi = r["bands"]["lower_80"][test], r["bands"]["upper_80"][test]
        assert band.min() == pytest.approx(lo.min()) and band.max() == pytest.approx(hi.max())
        assert set(np.round(band, 9)) == set(np.round(np.concatenate([lo, hi]), 9))

    fig = figs["error_by_month.png"]
    assert tuple(fig.get_size_inches()) == pytest.approx((8, 4))
    assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    (ax,) = fig.axes
    assert ax.get_title() == "Error by month (test period)" and ax.get_xlabel() == "month of the target date"
    assert ax.get_ylabel() == "issued forecast's MAE (°C)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["1 d", "7 d"]
    one, seven = ax.get_lines()
    assert list(one.get_xdata()) == list(range(1, 13))
    # 1 d: test targets 31 January (error 0.5) and 1 February (error 1.5); 7 d: 29 and 30 January (2 and 1)
    expected = {1: [0.5, 1.5] + [math.nan] * 10, 7: [1.5] + [math.nan] * 11}
    np.testing.assert_allclose(one.get_ydata(), expected[1])
    np.testing.assert_allclose(seven.get_ydata(), expected[7])
    assert one.get_marker() == "o"


def test_plots_without_matplotlib_write_nothing(result, tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_mpl(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mpl)
    assert report._plots(result, tmp_path) == []
    assert list(tmp_path.iterdir()) == []
