"""Jupyter display: the model's HTML table, History.plot, LivePlot outside and inside a kernel,
and the choice of progress bar."""

import sys
import types

import numpy as np
import pytest

import tanul
from tanul.callbacks import LivePlot
from tanul.callbacks.live import in_notebook, progress_bar_class
from tanul.display import model_html, summary, summary_rows


def _model():
    model = tanul.Sequential([tanul.Conv2D(6, 5, padding=2, activation="tanh"), tanul.MaxPool2D(2),
                              tanul.Flatten(), tanul.Dense(10)], seed=0, input_shape=(1, 28, 28), name="tiny<net>")
    model.compile(optimizer=tanul.Adam(lr=1e-3), loss="cross_entropy")
    return model


def test_repr_html_is_the_summary_table():
    model = _model()
    html = model._repr_html_()
    assert html == model_html(model)
    assert html.count("<tr>") == 1 + len(model.layers)          # header + one row per layer
    assert "tiny&lt;net&gt;" in html and "<net>" not in html   # names are escaped
    for layer in model.layers:
        assert f">{layer.name}<" in html and f">{type(layer).__name__}<" in html
    assert "<code>6@28x28</code>" in html and "<code>6@14x14</code>" in html and "<code>(10,)</code>" in html
    conv_params = 6 * (5 * 5 * 1 + 1)
    assert f"<td style='text-align:right'>{conv_params}</td>" in html
    assert f"Trainable params: <b>{model.count_params():,}</b>" in html
    assert "Adam" in html and "cross" in html.lower()


def test_rows_agree_with_the_text_summary():
    model = _model()
    text = model.summary(print_fn=None)
    for row in summary_rows(model):
        assert f"{row['name']} ({row['type']})" in text
        assert row["output_shape"] in text
    assert sum(r["params"] for r in summary_rows(model)) == model.count_params()


def test_unbuilt_model_html_and_summary_object_text():
    model = tanul.Sequential([tanul.Dense(4), tanul.Dense(1)])
    html = model._repr_html_()
    assert "not built yet" in html and html.count("<td style='text-align:right'>?</td>") == 2
    s = summary(_model())
    assert str(s) == repr(s) == _model().summary(print_fn=None)   # text in a terminal
    assert s._repr_html_().startswith("<div class='tanul-model'>")


def test_history_plot_delegates_to_plot_history(tmp_path):
    pytest.importorskip("matplotlib")
    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    model = tanul.Sequential([tanul.Dense(1)], seed=0)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    hist = model.fit(x, y, epochs=3, verbose=0, validation_split=0.25)
    fig = hist.plot(save=tmp_path / "h.png")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "mae"]
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), hist.history["loss"])
    assert (tmp_path / "h.png").exists()


def _fit_with(cb, epochs=4):
    x = np.random.default_rng(1).normal(size=(32, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = tanul.Sequential([tanul.Dense(4, activation="tanh"), tanul.Dense(2)], seed=0)
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, verbose=0, validation_data=(x, y), callbacks=[cb])
    return model


def test_liveplot_outside_a_notebook_draws_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    live = LivePlot()
    assert not in_notebook() and not live.active
    _fit_with(live)
    assert live.redraws == 0
    assert list(tmp_path.iterdir()) == []
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    if "matplotlib.pyplot" in sys.modules:  # another test may have imported it; then no figure is open
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def test_liveplot_saves_a_png_when_asked(tmp_path):
    pytest.importorskip("matplotlib")
    live = LivePlot(every=2, save=tmp_path / "curves.png", mode="off")
    _fit_with(live, epochs=5)
    assert live.redraws == 3                       # after epochs 2 and 4, and the last one (5)
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


class _FakeHandle:
    def __init__(self, log):
        self.log = log

    def update(self, obj):
        self.log.append(("update", obj))


def test_liveplot_in_a_kernel_updates_one_display_in_place(monkeypatch):
    """With a (fake) Jupyter kernel: one display() with a display_id, then update() per redraw."""
    pytest.importorskip("matplotlib")
    ipd = pytest.importorskip("IPython.display")
    log = []

    def fake_display(obj, display_id=False):
        assert display_id is True
        log.append(("display", obj))
        return _FakeHandle(log)

    monkeypatch.setattr(ipd, "display", fake_display)
    shell = types.SimpleNamespace(kernel=object(), config={})
    monkeypatch.setattr(sys.modules["IPython"], "get_ipython", lambda: shell)
    assert in_notebook()
    live = LivePlot()
    assert live.active
    model = _fit_with(live, epochs=3)
    assert [kind for kind, _ in log] == ["display", "update", "update"]
    for _, image in log:
        assert image.format == "png" and image.data[:4] == b"\x89PNG"
    assert len(model.history.epoch) == 3


def test_liveplot_picture_includes_the_current_epoch(tmp_path):
    """History runs after the user's callbacks: LivePlot must add the epoch being finished."""
    pytest.importorskip("matplotlib")
    drawn = []
    live = LivePlot(mode="off", save=tmp_path / "c.png")
    live_draw = live._data

    def spy(logs):
        d = live_draw(logs)
        drawn.append(len(d["loss"]))
        return d

    live._data = spy
    _fit_with(live, epochs=3)
    assert drawn == [1, 2, 3]


def test_liveplot_validates_arguments():
    with pytest.raises(ValueError, match="expected every to be a positive int, got 0"):
        LivePlot(every=0)
    with pytest.raises(ValueError, match="expected mode to be one of 'auto', 'notebook', 'off', got 'window'"):
        LivePlot(mode="window")
    assert repr(LivePlot(every=3)) == "LivePlot(every=3, mode='auto', active=False)"


def test_progress_bar_class_text_outside_widgets_in_a_kernel(monkeypatch):
    tqdm = pytest.importorskip("tqdm")
    from tqdm.std import tqdm as text_bar

    assert progress_bar_class() is text_bar                          # plain pytest: text
    ipython = pytest.importorskip("IPython")
    monkeypatch.setattr(ipython, "get_ipython", lambda: types.SimpleNamespace(kernel=object(), config={}))
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        assert progress_bar_class() is text_bar                      # kernel, no widgets: text, no warning
    else:
        from tqdm.notebook import tqdm as widget_bar
        assert progress_bar_class() is widget_bar                    # kernel + ipywidgets: widget bar
    monkeypatch.setitem(sys.modules, "ipywidgets", None)             # as if ipywidgets were missing
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert progress_bar_class() is text_bar
    assert tqdm is not None


def test_summary_in_a_notebook_shows_the_html_table_once(monkeypatch):
    import sys
    import types

    import tanul.model as model_mod

    shown = []
    fake = types.ModuleType("IPython.display")
    fake.display = shown.append
    monkeypatch.setitem(sys.modules, "IPython.display", fake)
    monkeypatch.setattr(model_mod, "in_notebook", lambda: True)
    model = _model()
    printed = []
    monkeypatch.setattr("builtins.print", printed.append)
    assert model.summary() is None and printed == []          # no text, no Out[] repeating it
    assert len(shown) == 1 and "<table" in shown[0]._repr_html_()
    assert "Trainable params" in str(shown[0])
    monkeypatch.setattr(model_mod, "in_notebook", lambda: False)
    assert "Trainable params" in model.summary(print_fn=None)  # text elsewhere
