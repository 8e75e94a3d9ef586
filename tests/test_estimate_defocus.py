"""estimate_defocus and estimate_blur: recovery, the disk OTF model against analytic zeros,
the choice between motion, defocus and none, and bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.special import jn_zeros
from skimage import data

from deconvkit.errors import InvalidParameterError
from restore import (
    BlurEstimate,
    DefocusEstimate,
    add_noise,
    blur,
    defocus_psf,
    estimate_blur,
    estimate_defocus,
    motion_psf,
    psf_to_otf,
)
from restore.defocus_estimate import disk_power
from restore.spectrum import ring_profile

CAMERA = data.camera() / 255.0


def blurred(psf: np.ndarray, size: tuple[int, int] = (256, 256), *, seed: int = 0, at=(100, 100)) -> np.ndarray:
    """A crop of the camera photo blurred with realistic (non-circular) borders, plus noise."""
    kh, kw = psf.shape
    r, c = at
    scene = CAMERA[r : r + size[0] + kh - 1, c : c + size[1] + kw - 1]
    return add_noise(blur(scene, psf, boundary="valid"), 0.01, rng=seed)


@pytest.mark.parametrize("radius", [2.0, 3.5, 7.0, 11.0])
def test_recovers_the_radius(radius):
    est = estimate_defocus(blurred(defocus_psf(radius)))
    assert abs(est.radius - radius) <= 0.5
    assert est.confidence > 0.8


def test_colour_dtype_and_non_square():
    gray = blurred(defocus_psf(5.0), (190, 257), seed=4)
    colour = np.stack([gray, 0.5 * gray + 0.3, gray], axis=-1).astype(np.float32)
    before = colour.copy()
    ref = estimate_defocus(gray)
    est = estimate_defocus(colour)
    assert abs(ref.radius - 5.0) <= 0.5 and abs(est.radius - ref.radius) <= 0.2
    np.testing.assert_array_equal(colour, before)


@pytest.mark.parametrize(
    "image",
    [np.full((128, 128), 0.5), np.zeros((16, 50)), CAMERA[:256, :256] + 0.01 * np.random.default_rng(1).standard_normal((256, 256))],
    ids=["flat", "tiny", "sharp"],
)
def test_no_blur_gives_low_confidence(image):
    assert estimate_defocus(image).confidence < 0.5


def test_a_single_spurious_dip_is_not_a_disk():
    """A sharp image with one notch cut out of its spectrum (a ring of zeros at one radius
    only) does not fit a disk, whose zeros come in a series."""
    sharp = CAMERA[100:356, 100:356]
    spec = np.fft.fft2(sharp)
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(256), np.fft.fftfreq(256), indexing="ij"))
    notched = np.fft.ifft2(spec * (np.abs(f - 0.15) > 0.006)).real
    assert estimate_defocus(add_noise(notched, 0.01, rng=0)).confidence < 0.5


def test_disk_model_first_zero_is_analytic_and_matches_defocus_psf():
    """|H|² of a disk of radius R vanishes first at rho = j_{1,1} / (2 pi R), j_{1,1} = 3.8317
    (scipy.special.jn_zeros); defocus_psf's OTF, ring-averaged, has its minima there too."""
    j11, j12 = jn_zeros(1, 2)
    for radius in (3.3, 5.0, 8.0):
        zeros = np.array([j11, j12]) / (2 * np.pi * radius)
        assert np.abs(disk_power([radius], zeros)).max() < 1e-20
        otf = np.abs(psf_to_otf(defocus_psf(radius), (512, 512))) ** 2
        profile, _ = ring_profile(np.fft.fftshift(otf))
        first_dip = np.argmin(profile[int(0.8 * zeros[0] * 512) : int(1.2 * zeros[0] * 512)]) + int(0.8 * zeros[0] * 512)
        assert abs(first_dip / 512 - zeros[0]) <= 1.5 / 512


def test_defocus_estimate_is_frozen_and_builds_its_psf():
    est = estimate_defocus(blurred(defocus_psf(4.0)))
    assert isinstance(est, DefocusEstimate)
    np.testing.assert_array_equal(est.psf(), defocus_psf(est.radius))
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.radius = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("psf", "kind"),
    [(motion_psf(19, 40), "motion"), (motion_psf(9, 100), "motion"), (defocus_psf(6), "defocus"), (defocus_psf(2.5), "defocus"), (np.ones((1, 1)), "none")],
    ids=["motion19", "motion9", "disk6", "disk2.5", "sharp"],
)
def test_estimate_blur_chooses_the_right_kind(psf, kind):
    est = estimate_blur(blurred(psf, seed=2))
    assert isinstance(est, BlurEstimate)
    assert est.kind == kind, est.describe()
    assert est.confidence > 0.5
    if kind == "motion":
        np.testing.assert_array_equal(est.psf(), est.motion.psf())
        assert "motion length" in est.describe()
    elif kind == "defocus":
        np.testing.assert_array_equal(est.psf(), est.defocus.psf())
        assert "defocus radius" in est.describe()
    else:
        np.testing.assert_array_equal(est.psf(), [[1.0]])
        assert "no significant blur" in est.describe()


@pytest.mark.parametrize("image", [np.full((64, 64), 7.0), np.ones((8, 8))], ids=["flat", "tiny"])
def test_estimate_blur_on_bad_images_says_none(image):
    """Nothing to measure: "none", and no confidence in that answer either."""
    est = estimate_blur(image)
    assert est.kind == "none" and est.confidence == 0
    assert est.motion.confidence == 0 and est.defocus.confidence == 0


def test_tiny_image_still_gets_its_noise_level():
    noise = np.random.default_rng(4).normal(0.5, 0.2, (20, 24))
    est = estimate_blur(noise)
    assert est.kind == "none" and est.confidence == 0
    assert est.noise_sigma == pytest.approx(0.2, rel=0.3)


@pytest.mark.parametrize(
    ("e_motion", "e_defocus", "kind"),
    [(45.0, 25.0, "motion"), (25.0, 45.0, "defocus"), (45.0, 30.0, "motion"), (60.0, 45.0, "defocus"), (39.0, 39.0, "none")],
)
def test_choice_rule(monkeypatch, e_motion, e_defocus, kind):
    """A kind is chosen only if its own evidence reaches EVIDENCE_HALF (40); among those, the
    larger of E_motion and 2 E_defocus wins. A motion at 45 is not lost to a defocus whose
    doubled score (50) is larger but whose own evidence (25) is too weak."""
    import restore.blur_estimate as be
    from restore import MotionEstimate
    from restore.spectrum import evidence_confidence

    monkeypatch.setattr(be, "motion_from_spectrum", lambda s, max_length=None: MotionEstimate(15.0, 30.0, evidence_confidence(e_motion), e_motion, 0.01))
    monkeypatch.setattr(be, "defocus_from_spectrum", lambda s, max_radius=None: DefocusEstimate(3.0, evidence_confidence(e_defocus), e_defocus, 0.01))
    est = estimate_blur(np.random.default_rng(0).random((64, 64)))
    assert est.kind == kind
    expected = {"motion": e_motion, "defocus": e_defocus}.get(kind)
    if expected is None:
        assert est.confidence == pytest.approx(1 - evidence_confidence(39.0))
    else:
        assert est.confidence == pytest.approx(evidence_confidence(expected))


@pytest.mark.parametrize(
    ("function", "kwargs", "match"),
    [
        (estimate_defocus, {"max_radius": 1.0}, "max_radius must be >= 2"),
        (estimate_defocus, {"analysis_size": 0}, "analysis_size must be >= 32"),
        (estimate_blur, {"analysis_size": "big"}, "analysis_size must be an integer"),
        (estimate_blur, {"max_length": -3}, "max_length must be >= 6"),
    ],
)
def test_bad_parameters(function, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        function(np.zeros((64, 64)), **kwargs)


@pytest.mark.parametrize("quality", [90, 75])
def test_recovers_the_radius_under_jpeg(quality):
    """JPEG's shaped noise (none above about 0.25 cycles/px) hid the rings' evidence; the
    spectrum is now clipped at the white noise level and fitted below 0.25 cycles/px."""
    import cv2

    from restore import estimate_blur

    y = blurred(defocus_psf(7), (512, 512), at=(0, 0))
    ok, buf = cv2.imencode(".jpg", np.round(np.clip(y, 0, 1) * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
    est = estimate_blur(cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) / 255.0)
    assert est.kind == "defocus" and abs(est.defocus.radius - 7) <= 0.5 and est.confidence > 0.5


def test_white_noise_keeps_the_full_band():
    """Lossless noise (white) leaves the floor at the finest scale's level and the band whole."""
    from restore.spectrum import analyse

    spectrum = analyse(blurred(defocus_psf(5), (512, 512), at=(0, 0)))
    assert spectrum.band == 0.5 and spectrum.white_sigma == spectrum.noise_sigma
