"""Decision-boundary plots checked for what they show (issue 18), not only for their structure:
the background is the model's output on the grid (orientation included), the 0.5 contour lies on
the known boundary, and each class's points are where the data are, in their class's colour."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from tanul import plot  # noqa: E402


def _data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 3, (60, 2))
    x[:, 1] *= 0.5  # different ranges on the two axes: a transposed image would not fit
    return x, (x[:, 0] > 2 * x[:, 1]).astype(np.int64)


class Tilted:
    """P(class 1) = σ(4(x1 − 2 x2)): the boundary is the line x1 = 2 x2."""

    def predict_proba(self, g):
        p1 = 1.0 / (1.0 + np.exp(-4.0 * (g[:, 0] - 2.0 * g[:, 1])))
        return np.column_stack([1 - p1, p1])


def _scatter_offsets(ax):
    return [c.get_offsets() for c in ax.collections if type(c).__name__ == "PathCollection"]


def test_binary_background_is_p1_on_the_grid_with_y_upwards():
    x, y = _data()
    res, margin = 40, 0.5
    fig = plot.plot_decision_boundary(Tilted(), x, y, resolution=res, margin=margin)
    ax = fig.axes[0]
    img = ax.images[0]
    lo, hi = x.min(axis=0) - margin, x.max(axis=0) + margin
    np.testing.assert_allclose(img.get_extent(), [lo[0], hi[0], lo[1], hi[1]])
    assert img.origin == "lower"  # row 0 is the bottom of the picture: the lowest x2
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], res), np.linspace(lo[1], hi[1], res))
    g = np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)
    expected = Tilted().predict_proba(g)[:, 1].reshape(res, res)
    np.testing.assert_allclose(np.asarray(img.get_array()), expected, rtol=1e-6, atol=1e-7)
    assert ax.get_xlim() == pytest.approx((lo[0], hi[0])) and ax.get_ylim() == pytest.approx((lo[1], hi[1]))


def test_binary_contour_is_the_model_boundary():
    x, y = _data()
    fig = plot.plot_decision_boundary(Tilted(), x, y, resolution=60)
    ax = fig.axes[0]
    contours = [c for c in ax.collections if type(c).__name__ in ("QuadContourSet", "ContourSet")]
    assert len(contours) == 1
    cs = contours[0]
    assert list(cs.levels) == [0.5]
    verts = np.concatenate([p.vertices for p in cs.get_paths() if len(p.vertices)])
    assert len(verts) > 10
    # every vertex of the drawn 0.5 line lies on x1 = 2 x2 (within the grid spacing)
    step = (x[:, 0].max() - x[:, 0].min() + 1.0) / 59
    assert np.abs(verts[:, 0] - 2 * verts[:, 1]).max() < 2 * step


def test_points_sit_at_the_data_in_their_class_colour():
    from matplotlib import colormaps

    x, y = _data()
    fig = plot.plot_decision_boundary(Tilted(), x, y, resolution=20)
    ax = fig.axes[0]
    cols = [c for c in ax.collections if type(c).__name__ == "PathCollection"]
    assert len(cols) == 2
    for c, cls in zip(cols, (0, 1), strict=True):
        np.testing.assert_allclose(c.get_offsets(), x[y == cls])
        want = colormaps["RdBu_r"](0.97 if cls == 1 else 0.03)  # class 1 red, class 0 blue
        np.testing.assert_allclose(c.get_facecolors(), np.tile(want, ((y == cls).sum(), 1)), atol=1e-6)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]


def test_multiclass_background_has_the_colour_of_the_predicted_class():
    from matplotlib import colormaps

    x, _ = _data()
    y3 = np.digitize(x[:, 0], [0.0, 1.5])  # three vertical bands

    def scores(g):  # class k wins in band k: scores peaked at x1 = -1, 0.75, 2.5
        return -np.abs(g[:, :1] - np.array([[-1.0, 0.75, 2.5]]))

    class Model:
        def predict(self, g):
            return scores(g)

    res = 30
    fig = plot.plot_decision_boundary(Model(), x, y3, resolution=res, margin=0.5)
    rgba = np.asarray(fig.axes[0].images[0].get_array())
    assert rgba.shape == (res, res, 4)
    lo, hi = x.min(axis=0) - 0.5, x.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], res), np.linspace(lo[1], hi[1], res))
    cls = scores(np.column_stack([gx.ravel(), gy.ravel()])).argmax(axis=1).reshape(res, res)
    tab10 = colormaps["tab10"]
    np.testing.assert_allclose(rgba[..., :3], tab10(cls)[..., :3], atol=1e-6)
    assert set(np.unique(cls)) == {0, 1, 2}
