"""tanul.plot.optimizer_paths / animate_optimizer_paths: the race drawn, and the GIF's frames."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")  # Pillow comes with matplotlib

from tanul import plot, surfaces  # noqa: E402
from tanul.optimizers import SGD, Adam, RMSProp  # noqa: E402


def test_contour_plot_has_one_path_per_optimizer_drawn_from_the_real_steps():
    opts = {"SGD": SGD(lr=0.01), "Adam": Adam(lr=0.05), "RMSProp": RMSProp(lr=0.05)}
    fig = plot.optimizer_paths("beale", opts, start=(1.0, 1.5), steps=40)
    ax = fig.axes[0]
    labelled = {line.get_label(): line for line in ax.lines if not line.get_label().startswith("_")}
    assert set(labelled) == {"SGD", "Adam", "RMSProp", "minimum"}
    # the drawn line is the path tanul.surfaces.descend gives for a fresh optimiser of the same kind
    expect = surfaces.descend("beale", Adam(lr=0.05), start=(1.0, 1.5), steps=40)
    np.testing.assert_allclose(np.c_[labelled["Adam"].get_xdata(), labelled["Adam"].get_ydata()], expect)
    np.testing.assert_allclose(fig.paths["Adam"], expect)
    assert ax.collections, "the contour lines"
    assert ax.get_xlim() == surfaces.BEALE.xlim


def test_default_optimizers_are_every_tanul_optimizer(tmp_path):
    fig = plot.optimizer_paths("ravine", steps=20, save=tmp_path / "r.png")
    assert set(fig.paths) == {"SGD", "Momentum", "Nesterov", "AdaGrad", "AdaDelta", "RMSProp", "Adam", "AdamW",
                              "L-BFGS"}
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def _gif_frames(path):
    with Image.open(path) as im:
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")).astype(np.int16))
    return frames


def test_gif_has_the_requested_frames_and_each_differs_from_the_last(tmp_path):
    out = tmp_path / "sub" / "race.gif"
    anim = plot.animate_optimizer_paths("saddle", {"SGD": SGD(lr=0.05), "Momentum": SGD(lr=0.05, momentum=0.9)},
                                        start=(1.0, 1e-3), steps=60, frames=12, fps=5, save=out)
    frames = _gif_frames(out)
    assert len(frames) == 12
    for a, b in zip(frames, frames[1:]):
        assert np.abs(a - b).sum() > 0
    assert list(anim.frame_steps) == sorted(set(anim.frame_steps)) and anim.frame_steps[-1] == 60
    assert not list(tmp_path.joinpath("sub").glob(".*")), "no temporary file left behind"


def test_animation_validates_frames_format_and_ffmpeg(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"expected frames <= steps \+ 1 = 11"):
        plot.animate_optimizer_paths("beale", {"SGD": SGD()}, steps=10, frames=20)
    with pytest.raises(ValueError, match="expected frames to be an int >= 2, got 1"):
        plot.animate_optimizer_paths("beale", {"SGD": SGD()}, steps=10, frames=1)
    with pytest.raises(ValueError, match=r"expected save to end in .gif or .mp4, got '.*x.avi'"):
        plot.animate_optimizer_paths("beale", {"SGD": SGD()}, steps=10, frames=5, save=tmp_path / "x.avi")
    from matplotlib import animation

    monkeypatch.setattr(animation.writers, "is_available", lambda name: False)
    with pytest.raises(ValueError, match="needs the ffmpeg program"):
        plot.animate_optimizer_paths("beale", {"SGD": SGD()}, steps=10, frames=5, save=tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_mp4_when_ffmpeg_is_present(tmp_path):
    from matplotlib import animation

    if not animation.writers.is_available("ffmpeg"):
        pytest.skip("ffmpeg is not installed (MP4 output needs it; GIF does not)")
    plot.animate_optimizer_paths("ravine", {"SGD": SGD(lr=0.1)}, steps=10, frames=5, save=tmp_path / "r.mp4")
    assert (tmp_path / "r.mp4").stat().st_size > 0
