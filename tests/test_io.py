"""deconvkit.io against Pillow and OpenCV used directly, and NumPy arithmetic.

All files are made inside the tests (``tmp_path``): reference files are written with Pillow or
OpenCV, never with the code under test, and results are compared with what Pillow / OpenCV /
NumPy say independently.
"""

from __future__ import annotations

import os
import re
import struct
import time
import tracemalloc
import zlib
from io import BytesIO
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps

from deconvkit.errors import (
    DeconvkitError,
    ImageReadError,
    ImageTooLargeError,
    ImageWriteError,
    InvalidParameterError,
)
from deconvkit.io import ImageInfo, available_memory, ensure_memory, image_info, read_image, write_image

SHAPES = [(13, 17), (16, 10), (9, 4)]  # odd/odd, even/even, odd/even; all non-square
SHAPE_IDS = [f"{h}x{w}" for h, w in SHAPES]
ORIENTATIONS = list(range(1, 9))
EXIF_ORIENTATION = 0x0112

# The EXIF orientation -> Pillow transpose table (EXIF 2.3, Table 6 / PIL.ImageOps.exif_transpose).
TRANSPOSE_OF_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def random_u8(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def random_u16(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 65536, size=shape, dtype=np.uint16)


def smooth_rgb(h, w, seed=0):
    """Smooth, asymmetric colour image in [0, 1] (float64): JPEG-friendly, every flip differs."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    phase = np.random.default_rng(seed).uniform(0, 1, 3)
    r = xx / max(w - 1, 1)
    g = yy / max(h - 1, 1)
    b = 0.5 + 0.3 * np.sin(2 * np.pi * (xx / (2.5 * w) + yy / (3.5 * h) + phase[2]))
    return np.clip(np.stack([0.1 + 0.8 * r, 0.15 + 0.7 * g * g, b], axis=-1), 0, 1)


def to_u8(x):
    return np.rint(np.clip(x, 0, 1) * 255).astype(np.uint8)


def scaled(raw, dtype=np.float64):
    """Reference scaling: exact rational k / (2**bits - 1), rounded once to ``dtype``."""
    top = 255.0 if raw.dtype == np.uint8 else 65535.0
    return (raw.astype(np.float64) / top).astype(dtype)


def cv2_rgb(path):
    """Read a file with OpenCV directly (no EXIF handling) and return RGB(A) order."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    assert raw is not None
    if raw.ndim == 3 and raw.shape[2] == 3:
        raw = raw[..., ::-1]
    elif raw.ndim == 3 and raw.shape[2] == 4:
        raw = raw[..., [2, 1, 0, 3]]
    return np.ascontiguousarray(raw)


def write_cv2_rgb(path, rgb):
    """Write an RGB(A) uint8/uint16 array with OpenCV directly."""
    if rgb.ndim == 3 and rgb.shape[2] == 3:
        bgr = rgb[..., ::-1]
    elif rgb.ndim == 3 and rgb.shape[2] == 4:
        bgr = rgb[..., [2, 1, 0, 3]]
    else:
        bgr = rgb
    assert cv2.imwrite(str(path), np.ascontiguousarray(bgr))
    return path


def part_files(folder: Path):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_chunks(data: bytes):
    """Split a PNG into (kind, payload) pairs."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        out.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def crafted_png(width: int, height: int) -> bytes:
    """A syntactically valid PNG whose header claims ``width x height`` RGB, with a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 4))
        + png_chunk(b"IEND", b"")
    )


def exif_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    return exif.tobytes()


def pil_exif_transposed(path) -> np.ndarray:
    """What Pillow shows for a file: ImageOps.exif_transpose, as an array (RGB for colour)."""
    with Image.open(path) as im:
        out = ImageOps.exif_transpose(im)
        if out.mode not in ("L", "I;16", "RGBA"):
            out = out.convert("RGB")
        return np.asarray(out)


def pil_transposed(array: np.ndarray, orientation: int) -> np.ndarray:
    method = TRANSPOSE_OF_ORIENTATION[orientation]
    im = Image.fromarray(array)
    return np.asarray(im if method is None else im.transpose(method))


def assert_names_file(excinfo, path):
    assert str(path) in str(excinfo.value)


# --------------------------------------------------------------------------------------------
# reading: scaling, dtype, channel order, info
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_read_png_8bit_written_by_pillow_is_exactly_raw_over_255(tmp_path, shape, mode, dtype):
    channels = {"L": (), "RGB": (3,), "RGBA": (4,)}[mode]
    raw = random_u8(shape + channels, seed=len(mode))
    path = tmp_path / "pil.png"
    Image.fromarray(raw, mode).save(path)

    image = read_image(path, dtype=dtype)

    assert image.dtype == dtype
    assert image.shape == raw.shape
    np.testing.assert_array_equal(image, scaled(raw, dtype))


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("channels", [None, 3, 4], ids=["gray", "rgb", "rgba"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_read_png_16bit_written_by_opencv_is_exactly_raw_over_65535(tmp_path, shape, channels, dtype):
    raw = random_u16(shape + ((channels,) if channels else ()), seed=7)
    path = write_cv2_rgb(tmp_path / "cv.png", raw)

    image, info = read_image(path, dtype=dtype, with_info=True)

    assert image.dtype == dtype
    assert image.shape == raw.shape
    np.testing.assert_array_equal(image, scaled(raw, dtype))
    assert info.bit_depth == 16
    assert info.channels == (channels or 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_every_8bit_value_maps_to_the_nearest_float_of_k_over_255(tmp_path, dtype):
    raw = np.arange(256, dtype=np.uint8).reshape(16, 16)
    path = tmp_path / "ramp.png"
    Image.fromarray(raw).save(path)

    image = read_image(path, dtype=dtype)

    np.testing.assert_array_equal(image, scaled(raw, dtype))
    assert image[0, 0] == 0.0
    assert image[-1, -1] == 1.0  # white is exactly 1, not 0.99999994
    assert image.min() >= 0 and image.max() <= 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_every_16bit_value_maps_to_the_nearest_float_of_k_over_65535(tmp_path, dtype):
    raw = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    path = tmp_path / "ramp16.png"
    Image.fromarray(raw).save(path)  # Pillow writes mode I;16 as a 16-bit gray PNG

    image = read_image(path, dtype=dtype)

    np.testing.assert_array_equal(image, scaled(raw, dtype))
    assert image[-1, -1] == 1.0
    # 16-bit steps survive float32: all 65536 values stay distinct
    assert np.unique(image).size == 65536


def test_default_dtype_is_float32_and_float64_on_request(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(random_u8((13, 17, 3))).save(path)

    assert read_image(path).dtype == np.float32
    assert read_image(path, dtype=np.float64).dtype == np.float64
    assert read_image(path, dtype="float64").dtype == np.float64
    np.testing.assert_array_equal(read_image(path), read_image(path, dtype=np.float64).astype(np.float32))


@pytest.mark.parametrize("bad", [np.float16, np.uint8, np.int64, complex, None, "not-a-dtype"])
def test_read_rejects_other_dtypes(tmp_path, bad):
    path = tmp_path / "a.png"
    Image.fromarray(random_u8((5, 6))).save(path)

    with pytest.raises(InvalidParameterError, match="dtype must be float32 or float64") as excinfo:
        read_image(path, dtype=bad)
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize(
    "fmt, suffix, tol",
    [("PNG", ".png", 0), ("TIFF", ".tif", 0), ("BMP", ".bmp", 0), ("JPEG", ".jpg", 3), ("WEBP", ".webp", 3)],
)
def test_pure_red_written_by_pillow_reads_as_channel_0(tmp_path, fmt, suffix, tol):
    red = np.zeros((13, 17, 3), np.uint8)
    red[..., 0] = 255
    path = tmp_path / f"red{suffix}"
    Image.fromarray(red).save(path, format=fmt, **({"quality": 100} if fmt in ("JPEG", "WEBP") else {}))

    image = read_image(path, dtype=np.float64)

    assert image.shape == (13, 17, 3)
    np.testing.assert_allclose(image[..., 0], 1.0, atol=tol / 255)
    np.testing.assert_allclose(image[..., 1:], 0.0, atol=tol / 255)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp"])
def test_bgr_array_written_by_opencv_reads_in_rgb_order(tmp_path, suffix):
    bgr = np.zeros((9, 4, 3), np.uint8)
    bgr[..., 2] = 255  # OpenCV's red channel
    bgr[0, 0] = (255, 0, 0)  # one blue pixel
    path = tmp_path / f"bgr{suffix}"
    assert cv2.imwrite(str(path), bgr)

    image = read_image(path)

    assert image[5, 2].tolist() == [1.0, 0.0, 0.0]
    assert image[0, 0].tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("bits", [8, 16])
def test_bgra_array_written_by_opencv_reads_as_rgba_with_alpha_last(tmp_path, bits):
    dtype, top = (np.uint8, 255) if bits == 8 else (np.uint16, 65535)
    bgra = np.zeros((6, 7, 4), dtype)
    bgra[..., 0] = top // 5  # blue
    bgra[..., 1] = top // 3  # green
    bgra[..., 2] = top  # red
    bgra[..., 3] = top // 2  # alpha
    path = tmp_path / "bgra.png"
    assert cv2.imwrite(str(path), bgra)

    image = read_image(path, dtype=np.float64)

    np.testing.assert_array_equal(image[0, 0], [1.0, (top // 3) / top, (top // 5) / top, (top // 2) / top])


def test_rgba_png_by_pillow_matches_pillow_pixels(tmp_path):
    raw = random_u8((13, 17, 4), seed=3)
    path = tmp_path / "rgba.png"
    Image.fromarray(raw, "RGBA").save(path)

    with Image.open(path) as im:
        assert im.mode == "RGBA"
        reference = np.asarray(im)
    np.testing.assert_array_equal(read_image(path), scaled(reference, np.float32))


def test_palette_png_reads_as_rgb_like_pillow_convert(tmp_path):
    path = tmp_path / "pal.png"
    rgb = random_u8((13, 17, 3), seed=4)
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=6).save(path)
    with Image.open(path) as im:
        assert im.mode == "P"
        reference = np.asarray(im.convert("RGB"))

    np.testing.assert_array_equal(read_image(path), scaled(reference, np.float32))


def test_gray_alpha_png_reads_as_rgba(tmp_path):
    la = random_u8((9, 4, 2), seed=5)
    path = tmp_path / "la.png"
    Image.fromarray(la, "LA").save(path)

    image = read_image(path, dtype=np.float64)

    assert image.shape == (9, 4, 4)
    for c in range(3):
        np.testing.assert_array_equal(image[..., c], la[..., 0] / 255)
    np.testing.assert_array_equal(image[..., 3], la[..., 1] / 255)


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("channels", [None, 3], ids=["gray", "rgb"])
def test_read_tiff_written_by_opencv(tmp_path, bits, channels):
    shape = (13, 17) + ((channels,) if channels else ())
    raw = random_u8(shape, 1) if bits == 8 else random_u16(shape, 1)
    path = write_cv2_rgb(tmp_path / "cv.tif", raw)

    image, info = read_image(path, dtype=np.float64, with_info=True)

    np.testing.assert_array_equal(image, scaled(raw))
    assert (info.bit_depth, info.channels, info.format) == (bits, channels or 1, "TIFF")


def test_float_tiff_is_read_unscaled(tmp_path):
    raw = np.array([[-0.25, 0.0, 0.5], [1.0, 1.5, 1e-7]], np.float32)
    path = tmp_path / "f.tif"
    assert cv2.imwrite(str(path), raw)

    image, info = read_image(path, with_info=True)

    np.testing.assert_array_equal(image, raw)
    assert info.bit_depth == 32


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (1, 5), (5, 1)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_tiny_png_reads_fine(tmp_path, size, mode):
    raw = random_u8(size + ((3,) if mode == "RGB" else ()), seed=size[0] * 10 + size[1])
    path = tmp_path / "tiny.png"
    Image.fromarray(raw, mode).save(path)

    image, info = read_image(path, with_info=True)

    np.testing.assert_array_equal(image, scaled(raw, np.float32))
    assert (info.height, info.width) == size


def test_read_accepts_str_and_pathlike(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(random_u8((5, 6))).save(path)

    np.testing.assert_array_equal(read_image(str(path)), read_image(path))
    _, info = read_image(str(path), with_info=True)
    assert isinstance(info.path, Path) and info.path == path


@pytest.mark.parametrize(
    "mode, suffix, bits, channels",
    [
        ("L", ".png", 8, 1),
        ("RGB", ".png", 8, 3),
        ("RGBA", ".png", 8, 4),
        ("I;16", ".png", 16, 1),
        ("L", ".jpg", 8, 1),
        ("RGB", ".jpg", 8, 3),
        ("RGB", ".tif", 8, 3),
        ("RGB", ".bmp", 8, 3),
    ],
)
def test_with_info_reports_decoded_bit_depth_and_channels(tmp_path, mode, suffix, bits, channels):
    shape = (13, 17) + ((channels,) if channels > 1 else ())
    raw = random_u16(shape) if bits == 16 else random_u8(shape)
    path = tmp_path / f"x{suffix}"
    Image.fromarray(raw).save(path)

    image, info = read_image(path, with_info=True)

    assert isinstance(info, ImageInfo)
    assert (info.bit_depth, info.channels) == (bits, channels)
    assert (info.height, info.width) == image.shape[:2] == (13, 17)
    assert info.orientation == 1
    with Image.open(path) as im:
        assert info.format == im.format
    assert image.ndim == (2 if channels == 1 else 3)


@pytest.mark.parametrize("channels", [None, 3], ids=["gray", "rgb"])
def test_16bit_colour_png_reports_16_bits(tmp_path, channels):
    raw = random_u16((5, 6) + ((channels,) if channels else ()))
    path = write_cv2_rgb(tmp_path / "x.png", raw)

    _, info = read_image(path, with_info=True)

    assert info.bit_depth == 16


# --------------------------------------------------------------------------------------------
# image_info
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode, fmt, suffix, channels, bits",
    [
        ("L", "PNG", ".png", 1, 8),
        ("RGB", "PNG", ".png", 3, 8),
        ("RGBA", "PNG", ".png", 4, 8),
        ("I;16", "PNG", ".png", 1, 16),
        ("RGB", "JPEG", ".jpg", 3, 8),
        ("L", "TIFF", ".tif", 1, 8),
        ("RGB", "BMP", ".bmp", 3, 8),
        ("RGB", "WEBP", ".webp", 3, 8),
    ],
)
def test_image_info_reads_header(tmp_path, mode, fmt, suffix, channels, bits):
    shape = (13, 17) + ((channels,) if channels > 1 else ())
    raw = random_u16(shape) if bits == 16 else random_u8(shape)
    path = tmp_path / f"x{suffix}"
    Image.fromarray(raw).save(path, format=fmt)

    info = image_info(path)

    assert info == ImageInfo(path, 13, 17, channels, bits, fmt, 1)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif"])
@pytest.mark.parametrize("with_exif", [False, True], ids=["no-exif", "exif"])
def test_image_info_does_not_decode_pixels(tmp_path, monkeypatch, suffix, with_exif):
    path = tmp_path / f"x{suffix}"
    kwargs = {"exif": exif_bytes(6)} if with_exif else {}
    Image.fromarray(random_u8((13, 17, 3))).save(path, **kwargs)

    def no_decoding(self):
        raise AssertionError("image_info decoded the pixels")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    info = image_info(path)

    assert info.orientation == (6 if with_exif else 1)
    assert (info.height, info.width) == ((17, 13) if with_exif else (13, 17))


# --------------------------------------------------------------------------------------------
# EXIF orientation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_jpeg_exif_orientation_matches_pillow_exif_transpose(tmp_path, orientation):
    h, w = 13, 17
    path = tmp_path / f"o{orientation}.jpg"
    Image.fromarray(to_u8(smooth_rgb(h, w))).save(path, quality=100, exif=exif_bytes(orientation))

    image, info = read_image(path, dtype=np.float64, with_info=True)
    reference = pil_exif_transposed(path) / 255.0

    expected_shape = (w, h, 3) if orientation >= 5 else (h, w, 3)
    assert image.shape == reference.shape == expected_shape
    # Both decode the same file; libjpeg versions may differ by a rounding step.
    assert np.abs(image - reference).mean() <= 2 / 255
    assert np.abs(image - reference).max() <= 8 / 255
    assert info.orientation == orientation
    assert image_info(path).orientation == orientation
    assert (image_info(path).height, image_info(path).width) == image.shape[:2]


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize(
    "fmt, suffix, kwargs",
    [("PNG", ".png", {}), ("TIFF", ".tif", {}), ("WEBP", ".webp", {"lossless": True})],
    ids=["png", "tiff", "webp"],
)
def test_lossless_exif_orientation_matches_pillow_exactly(tmp_path, orientation, fmt, suffix, kwargs):
    raw = random_u8((13, 17, 3), seed=orientation)
    path = tmp_path / f"o{orientation}{suffix}"
    Image.fromarray(raw).save(path, format=fmt, exif=exif_bytes(orientation), **kwargs)

    image = read_image(path, dtype=np.float64)

    np.testing.assert_array_equal(image, pil_exif_transposed(path) / 255.0)
    np.testing.assert_array_equal(image, pil_transposed(raw, orientation) / 255.0)
    assert image.flags.c_contiguous


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_gray_exif_orientation(tmp_path, orientation, suffix):
    raw = random_u16((13, 17), seed=orientation)
    path = tmp_path / f"o{orientation}{suffix}"
    Image.fromarray(raw).save(path, exif=exif_bytes(orientation))

    image, info = read_image(path, dtype=np.float64, with_info=True)

    np.testing.assert_array_equal(image, pil_transposed(raw, orientation) / 65535.0)
    assert (info.bit_depth, info.orientation) == (16, orientation)
    assert (image_info(path).height, image_info(path).width) == image.shape


@pytest.mark.parametrize("orientation", [3, 6, 7])
def test_png_exif_chunk_after_idat_is_honoured_without_decoding(tmp_path, monkeypatch, orientation):
    raw = random_u8((13, 17, 3), seed=11)
    source = tmp_path / "src.png"
    Image.fromarray(raw).save(source, exif=exif_bytes(orientation))
    chunks = png_chunks(source.read_bytes())
    exif = [c for c in chunks if c[0] == b"eXIf"]
    rest = [c for c in chunks if c[0] not in (b"eXIf", b"IEND")]
    assert len(exif) == 1
    path = tmp_path / "late.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + b"".join(png_chunk(k, d) for k, d in rest + exif + [(b"IEND", b"")])
    )
    assert png_chunks(path.read_bytes())[-2][0] == b"eXIf"  # really after the IDAT now
    reference = pil_exif_transposed(path)  # Pillow finds it after loading the pixels

    np.testing.assert_array_equal(read_image(path, dtype=np.float64), reference / 255.0)
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded pixels"))
    assert image_info(path).orientation == orientation


@pytest.mark.parametrize("value", [0, 9, 255])
def test_out_of_range_orientation_is_ignored(tmp_path, value):
    raw = random_u8((13, 17, 3))
    path = tmp_path / "odd.png"
    Image.fromarray(raw).save(path, exif=exif_bytes(value))

    image, info = read_image(path, with_info=True)

    np.testing.assert_array_equal(image, scaled(raw, np.float32))
    assert info.orientation == 1


@pytest.mark.parametrize(
    "exif",
    [
        b"Exif\x00\x00not a tiff header at all",
        b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05\x01\x12",  # IFD cut short
    ],
    ids=["garbage", "truncated-ifd"],
)
def test_corrupt_exif_is_treated_as_no_orientation_without_warnings(tmp_path, exif):
    # pytest runs with filterwarnings=error: a leaked Pillow warning would fail this test.
    path = tmp_path / "bad-exif.jpg"
    Image.fromarray(to_u8(smooth_rgb(13, 17))).save(path, quality=100, exif=exif)

    image, info = read_image(path, with_info=True)

    assert image.shape == (13, 17, 3)
    assert info.orientation == 1
    assert image_info(path).orientation == 1


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("channels", [None, 3, 4], ids=["gray", "rgb", "rgba"])
@pytest.mark.parametrize("bit_depth", [8, 16])
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_lossless_write_then_read_gives_rounded_values(tmp_path, shape, channels, bit_depth, suffix):
    full = shape + ((channels,) if channels else ())
    x = np.random.default_rng(1).uniform(0, 1, full)
    top = 255 if bit_depth == 8 else 65535
    path = tmp_path / f"out{suffix}"

    assert write_image(path, x, bit_depth=bit_depth) == path

    codes = cv2_rgb(path)  # OpenCV, directly
    assert codes.dtype == (np.uint8 if bit_depth == 8 else np.uint16)
    assert codes.shape == full
    np.testing.assert_array_equal(codes, np.rint(x * top))
    np.testing.assert_array_equal(read_image(path, dtype=np.float64), np.rint(x * top) / top)
    assert np.abs(read_image(path, dtype=np.float64) - x).max() <= 0.5 / top + 1e-12


@pytest.mark.parametrize("mode, channels", [("L", None), ("RGB", 3), ("RGBA", 4)])
def test_8bit_png_written_reads_back_identically_in_pillow(tmp_path, mode, channels):
    raw = random_u8((13, 17) + ((channels,) if channels else ()), seed=9)
    path = tmp_path / "w.png"

    write_image(path, raw / 255.0)

    with Image.open(path) as im:
        assert im.mode == mode
        np.testing.assert_array_equal(np.asarray(im), raw)


def test_16bit_gray_png_is_16bit_for_pillow_too(tmp_path):
    raw = random_u16((13, 17), seed=2)
    path = tmp_path / "w16.png"

    write_image(path, raw / 65535.0, bit_depth=16)

    with Image.open(path) as im:
        assert im.mode.startswith("I;16")
        np.testing.assert_array_equal(np.asarray(im).astype(np.uint16), raw)
    assert image_info(path).bit_depth == 16


def test_16bit_keeps_precision_that_8bit_loses(tmp_path):
    x = (np.arange(13 * 17).reshape(13, 17) * 7 + 1000) / 65535.0
    p8, p16 = tmp_path / "a.png", tmp_path / "b.png"

    write_image(p8, x, bit_depth=8)
    write_image(p16, x, bit_depth=16)

    np.testing.assert_array_equal(read_image(p16, dtype=np.float64), x)
    assert np.unique(read_image(p8)).size < np.unique(x).size


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_write_clips_out_of_range_and_rounds_to_nearest(tmp_path, bit_depth):
    top = 255 if bit_depth == 8 else 65535
    values = np.array(
        [[-0.5, -1e-9, 0.0, 0.3 / top, 0.7 / top, 100.4 / top, 100.6 / top, 1.0, 1.0001, 7.0, -np.float64(top)]]
    )
    expected = np.array([[0, 0, 0, 0, 1, 100, 101, top, top, top, 0]])
    path = tmp_path / "clip.png"

    write_image(path, values, bit_depth=bit_depth)

    np.testing.assert_array_equal(cv2_rgb(path), expected)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, bool])
def test_write_accepts_float_and_bool_input(tmp_path, dtype):
    x = np.array([[0.0, 0.5, 1.0], [1.0, 0.25, 0.0]]).astype(dtype)
    path = tmp_path / "t.png"

    write_image(path, x)

    np.testing.assert_array_equal(cv2_rgb(path), np.rint(x.astype(np.float64) * 255))


def test_single_channel_3d_input_is_written_as_gray(tmp_path):
    x = np.random.default_rng(0).uniform(size=(13, 17, 1))
    path = tmp_path / "g.png"

    write_image(path, x)

    image = read_image(path, dtype=np.float64)
    assert image.shape == (13, 17)
    np.testing.assert_array_equal(image, np.rint(x[..., 0] * 255) / 255)


@pytest.mark.parametrize("suffix", [".jpg", ".jpeg", ".JPG"])
@pytest.mark.parametrize("channels", [None, 3], ids=["gray", "rgb"])
def test_jpeg_round_trip_within_lossy_tolerance(tmp_path, suffix, channels):
    x = smooth_rgb(40, 50)
    if channels is None:
        x = x.mean(axis=2)
    path = tmp_path / f"j{suffix}"

    write_image(path, x, quality=95)

    image, info = read_image(path, dtype=np.float64, with_info=True)
    assert image.shape == x.shape
    assert (info.format, info.bit_depth) == ("JPEG", 8)
    assert np.abs(image - x).mean() < 1.5 / 255
    assert np.abs(image - x).max() < 12 / 255
    # and OpenCV decodes the very same pixels
    np.testing.assert_array_equal(image, cv2_rgb(path) / 255.0)


def test_jpeg_quality_changes_the_file(tmp_path):
    x = np.random.default_rng(3).uniform(size=(32, 48, 3))
    low, high = tmp_path / "low.jpg", tmp_path / "high.jpg"

    write_image(low, x, quality=10)
    write_image(high, x, quality=100)

    assert low.stat().st_size < high.stat().st_size
    err_low = np.abs(read_image(low, dtype=np.float64) - x).mean()
    err_high = np.abs(read_image(high, dtype=np.float64) - x).mean()
    assert err_high < err_low


def test_bmp_round_trip_is_lossless(tmp_path):
    x = smooth_rgb(13, 17)
    path = tmp_path / "w.bmp"

    write_image(path, x)

    np.testing.assert_array_equal(read_image(path, dtype=np.float64), np.rint(x * 255) / 255)
    with Image.open(path) as im:
        np.testing.assert_array_equal(np.asarray(im), to_u8(x))


def test_webp_round_trip_within_lossy_tolerance(tmp_path):
    x = smooth_rgb(32, 48)
    path = tmp_path / "w.webp"

    write_image(path, x, quality=100)

    image, info = read_image(path, dtype=np.float64, with_info=True)
    assert info.format == "WEBP"
    assert np.abs(image - x).mean() < 2 / 255
    assert np.abs(image - x).max() < 24 / 255  # 4:2:0 chroma at colour edges


@pytest.mark.parametrize("suffix", [".PNG", ".Tif", ".TIFF"])
def test_suffix_is_case_insensitive(tmp_path, suffix):
    x = np.random.default_rng(0).uniform(size=(5, 6, 3))
    path = tmp_path / f"x{suffix}"

    write_image(path, x, bit_depth=16)

    np.testing.assert_array_equal(read_image(path, dtype=np.float64), np.rint(x * 65535) / 65535)


@pytest.mark.parametrize("suffix", [".jpg", ".jpeg", ".bmp", ".webp"])
def test_16bit_refused_for_8bit_only_formats(tmp_path, suffix):
    path = tmp_path / f"x{suffix}"

    with pytest.raises(ImageWriteError, match=r"8-bit.*bit_depth=16") as excinfo:
        write_image(path, np.zeros((5, 6, 3)), bit_depth=16)

    assert isinstance(excinfo.value, OSError) and isinstance(excinfo.value, DeconvkitError)
    assert ".png" in str(excinfo.value)  # says what to use instead
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".jpg", ".jpeg"])
def test_alpha_refused_for_jpeg(tmp_path, suffix):
    path = tmp_path / f"x{suffix}"

    with pytest.raises(ImageWriteError, match="alpha") as excinfo:
        write_image(path, np.zeros((5, 6, 4)))

    assert_names_file(excinfo, path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["x.gif", "x.txt", "x", "x.png.bak", "x.npy"])
def test_unknown_suffix_refused(tmp_path, name):
    path = tmp_path / name

    with pytest.raises(ImageWriteError, match="unknown image suffix") as excinfo:
        write_image(path, np.zeros((5, 6)))

    assert_names_file(excinfo, path)
    assert ".png" in str(excinfo.value)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_refused_and_not_created(tmp_path):
    path = tmp_path / "no" / "such" / "x.png"

    with pytest.raises(ImageWriteError, match="does not exist") as excinfo:
        write_image(path, np.zeros((5, 6)))

    assert_names_file(excinfo, path)
    assert not (tmp_path / "no").exists()


def test_existing_file_is_kept_without_overwrite(tmp_path):
    path = tmp_path / "x.png"
    write_image(path, np.full((5, 6), 0.25))
    before = path.read_bytes()

    with pytest.raises(ImageWriteError, match="already exists") as excinfo:
        write_image(path, np.full((5, 6), 0.75))

    assert_names_file(excinfo, path)
    assert "overwrite" in str(excinfo.value)
    assert path.read_bytes() == before
    assert part_files(tmp_path) == []


def test_overwrite_true_replaces_the_file(tmp_path):
    path = tmp_path / "x.png"
    write_image(path, np.full((5, 6), 0.25))

    assert write_image(path, np.full((7, 3, 3), 0.75), overwrite=True) == path

    np.testing.assert_array_equal(cv2_rgb(path), np.full((7, 3, 3), 191))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]


@pytest.mark.parametrize("overwrite", [False, True])
def test_directory_target_refused(tmp_path, overwrite):
    path = tmp_path / "dir.png"
    path.mkdir()

    with pytest.raises(ImageWriteError, match="directory") as excinfo:
        write_image(path, np.zeros((5, 6)), overwrite=overwrite)

    assert_names_file(excinfo, path)
    assert path.is_dir() and list(path.iterdir()) == []


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros((5, 6, 2)), "1, 3 or 4 channels"),
        (np.zeros((5, 6, 5)), "1, 3 or 4 channels"),
        (np.zeros(6), "2-D or 3-D"),
        (np.zeros((2, 5, 6, 3)), "2-D or 3-D"),
        (np.zeros((0, 6)), "empty"),
        (np.array([[0.5, np.nan]]), "finite"),
        (np.array([[0.5, np.inf]]), "finite"),
        (np.array([["a", "b"]]), "real numbers"),
        (np.zeros((2, 2), complex), "real numbers"),
    ],
    ids=["2ch", "5ch", "1d", "4d", "empty", "nan", "inf", "str", "complex"],
)
def test_bad_arrays_refused(tmp_path, array, match):
    path = tmp_path / "x.png"

    with pytest.raises(ImageWriteError, match=match) as excinfo:
        write_image(path, array)

    assert_names_file(excinfo, path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bit_depth", [1, 12, 32, "8"])
def test_bad_bit_depth_refused(tmp_path, bit_depth):
    path = tmp_path / "x.png"

    with pytest.raises(ImageWriteError, match="bit_depth must be 8 or 16"):
        write_image(path, np.zeros((5, 6)), bit_depth=bit_depth)

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_input_array_is_not_modified(tmp_path, dtype, suffix):
    x = np.random.default_rng(0).uniform(-0.5, 1.5, size=(13, 17, 3)).astype(dtype)
    before = x.copy()

    write_image(tmp_path / f"x{suffix}", x)

    np.testing.assert_array_equal(x, before)
    assert x.dtype == dtype


def test_read_only_input_is_accepted(tmp_path):
    x = np.random.default_rng(0).uniform(size=(13, 17, 3))
    x.flags.writeable = False

    write_image(tmp_path / "x.png", x)

    np.testing.assert_array_equal(read_image(tmp_path / "x.png", dtype=np.float64), np.rint(x * 255) / 255)


def test_no_part_files_after_successes_and_refusals(tmp_path):
    x = np.random.default_rng(0).uniform(size=(13, 17, 3))
    for name in ["a.png", "b.tif", "c.jpg", "d.bmp", "e.webp"]:
        write_image(tmp_path / name, x)
    write_image(tmp_path / "a.png", x, overwrite=True)
    for bad in [
        lambda: write_image(tmp_path / "a.png", x),
        lambda: write_image(tmp_path / "f.jpg", x, bit_depth=16),
        lambda: write_image(tmp_path / "g.gif", x),
        lambda: write_image(tmp_path / "h.png", np.full((3, 3), np.nan)),
    ]:
        with pytest.raises(ImageWriteError):
            bad()

    assert part_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.tif", "c.jpg", "d.bmp", "e.webp"]


@pytest.mark.parametrize("existing", [False, True], ids=["new", "overwrite"])
def test_os_error_while_writing_leaves_target_untouched_and_no_part_file(tmp_path, monkeypatch, existing):
    path = tmp_path / "x.png"
    if existing:
        write_image(path, np.full((5, 6), 0.25))
    before = path.read_bytes() if existing else None

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(ImageWriteError, match="No space left") as excinfo:
        write_image(path, np.full((5, 6), 0.75), overwrite=True)

    assert_names_file(excinfo, path)
    assert part_files(tmp_path) == []
    if existing:
        assert path.read_bytes() == before
    else:
        assert not path.exists()


def test_interrupt_while_writing_propagates_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "x.png"

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_image(path, np.zeros((5, 6)))

    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# bad input files
# --------------------------------------------------------------------------------------------


def _encoded(fmt, **kwargs):
    buf = BytesIO()
    Image.fromarray(random_u8((40, 50, 3), seed=1)).save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _jpeg_bytes():
    return _encoded("JPEG", quality=90)


def _png_bytes():
    return _encoded("PNG")


BAD_FILES = {
    "zero-byte.png": lambda: b"",
    "text.png": lambda: b"this is not an image, just some text\n" * 3,
    "random.jpg": lambda: np.random.default_rng(42).bytes(500),
    "half.jpg": lambda: _jpeg_bytes()[: len(_jpeg_bytes()) // 2],
    "no-eoi.jpg": lambda: _jpeg_bytes()[:-2],
    "header-only.jpg": lambda: _jpeg_bytes()[:100],
    "half.png": lambda: _png_bytes()[: len(_png_bytes()) // 2],
    "no-iend.png": lambda: _png_bytes()[:-12],
    "signature-only.png": lambda: b"\x89PNG\r\n\x1a\n",
    "bad-crc.png": lambda: _png_bytes()[:29] + b"\x00\x00\x00\x00" + _png_bytes()[33:],
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_raises_image_read_error_naming_it(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name]())

    with pytest.raises(ImageReadError) as excinfo:
        read_image(path)

    assert isinstance(excinfo.value, OSError) and isinstance(excinfo.value, DeconvkitError)
    assert not isinstance(excinfo.value, ImageTooLargeError)
    assert_names_file(excinfo, path)


def test_reference_decoders_agree_that_the_bad_files_are_bad(tmp_path):
    # Guards the fixtures above: OpenCV itself cannot decode any of them.
    for name, make in BAD_FILES.items():
        data = make()
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
        assert decoded is None, name


def test_missing_file(tmp_path):
    path = tmp_path / "missing.png"

    for func in (read_image, image_info):
        with pytest.raises(ImageReadError, match="does not exist") as excinfo:
            func(path)
        assert_names_file(excinfo, path)
        assert isinstance(excinfo.value, OSError)


def test_directory(tmp_path):
    path = tmp_path / "folder.png"
    path.mkdir()

    for func in (read_image, image_info):
        with pytest.raises(ImageReadError, match="directory") as excinfo:
            func(path)
        assert_names_file(excinfo, path)


def test_zero_byte_file_message_says_empty(tmp_path):
    path = tmp_path / "empty.jpg"
    path.touch()

    with pytest.raises(ImageReadError, match="empty") as excinfo:
        image_info(path)
    assert_names_file(excinfo, path)


def test_truncated_jpeg_message_says_truncated(tmp_path):
    path = tmp_path / "half.jpg"
    path.write_bytes(BAD_FILES["half.jpg"]())

    with pytest.raises(ImageReadError, match="truncated"):
        read_image(path)


def test_jpeg_with_trailer_after_eoi_is_not_truncated(tmp_path):
    path = tmp_path / "trailer.jpg"
    data = _jpeg_bytes()
    path.write_bytes(data + b"camera trailer \x00\x01\x02" * 4)
    clean = tmp_path / "clean.jpg"
    clean.write_bytes(data)

    np.testing.assert_array_equal(read_image(path), read_image(clean))


def test_progressive_jpeg_reads_like_pillow(tmp_path):
    path = tmp_path / "prog.jpg"
    Image.fromarray(to_u8(smooth_rgb(32, 48))).save(path, quality=95, progressive=True)

    image = read_image(path, dtype=np.float64)

    assert np.abs(image - pil_exif_transposed(path) / 255.0).mean() <= 2 / 255


def test_text_file_message_says_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello\n")

    with pytest.raises(ImageReadError, match="not an image") as excinfo:
        image_info(path)
    assert_names_file(excinfo, path)


@pytest.mark.parametrize("func", [read_image, image_info])
def test_png_header_claiming_huge_size_is_refused_quickly(tmp_path, func):
    path = tmp_path / "bomb.png"
    path.write_bytes(crafted_png(100_000, 100_000))
    assert path.stat().st_size < 100
    # The header really is valid: Pillow parses it and only then trips its bomb check.
    with pytest.raises(Image.DecompressionBombError, match="10000000000 pixels"):
        Image.open(path)

    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ImageTooLargeError) as excinfo:
            func(path)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert isinstance(excinfo.value, MemoryError) and isinstance(excinfo.value, DeconvkitError)
    assert_names_file(excinfo, path)
    assert elapsed < 2.0
    assert peak < 10 * 2**20  # nowhere near the 30 GB the header asks for


def test_png_header_over_the_memory_limit_is_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    path.write_bytes(crafted_png(12_000, 12_000))  # 144 Mpixel: under Pillow's bomb limit
    monkeypatch.setattr(cv2, "imdecode", lambda *a, **k: pytest.fail("decoded despite the limit"))

    with pytest.raises(ImageTooLargeError, match="12000x12000") as excinfo:
        read_image(path, max_bytes=2**30)
    assert_names_file(excinfo, path)


def test_max_bytes_message_says_how_much_memory_is_needed(tmp_path):
    path = tmp_path / "hundred.png"
    Image.fromarray(random_u8((100, 100, 3))).save(path)

    with pytest.raises(ImageTooLargeError) as excinfo:
        read_image(path, max_bytes=1000)

    message = str(excinfo.value)
    assert_names_file(excinfo, path)
    match = re.search(r"needs about ([\d.]+) (bytes|KiB|MiB|GiB)", message)
    assert match, message
    needed = float(match.group(1)) * {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[match.group(2)]
    # at least the float32 output itself, at most a handful of copies of it
    assert 100 * 100 * 3 * 4 <= needed <= 10 * 100 * 100 * 3 * 4
    assert "1000 bytes" in message  # and what is available
    # the same file reads fine with enough room
    assert read_image(path, max_bytes=int(needed) + 1024).shape == (100, 100, 3)


def test_max_bytes_accounts_for_the_output_dtype(tmp_path):
    path = tmp_path / "x.png"
    Image.fromarray(random_u8((50, 40))).save(path)
    # decoded 8-bit samples plus a float32 copy fit in 7 bytes per sample, a float64 copy does not
    limit = 50 * 40 * 7

    assert read_image(path, dtype=np.float32, max_bytes=limit).dtype == np.float32
    with pytest.raises(ImageTooLargeError):
        read_image(path, dtype=np.float64, max_bytes=limit)


def test_image_beyond_opencv_dimension_limit_is_image_too_large(tmp_path):
    # A 1 x 2,000,000 BMP header: 2 Mpixel passes Pillow's bomb check and the memory check,
    # but OpenCV refuses heights over 2**20 with cv2.error.
    width, height, row = 1, 2_000_000, 4
    header = b"BM" + struct.pack("<IHHI", 54 + row * height, 0, 0, 54)
    header += struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, row * height, 2835, 2835, 0, 0)
    path = tmp_path / "tall.bmp"
    path.write_bytes(header)
    assert image_info(path).height == height

    with pytest.raises(ImageTooLargeError) as excinfo:
        read_image(path, max_bytes=2**30)
    assert_names_file(excinfo, path)


# --------------------------------------------------------------------------------------------
# ensure_memory / available_memory
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_bytes, max_bytes", [(0, 0), (999, 1000), (1000, 1000), (2**40, 2**41)])
def test_ensure_memory_passes_within_the_limit(n_bytes, max_bytes):
    assert ensure_memory(n_bytes, "thing", max_bytes=max_bytes) is None


@pytest.mark.parametrize(
    "n_bytes, max_bytes, need_text, have_text",
    [
        (1001, 1000, "1001 bytes", "1000 bytes"),
        (2048, 1000, "2.00 KiB", "1000 bytes"),
        (3 * 2**20, 2**20, "3.00 MiB", "1.00 MiB"),
        (5 * 2**30 // 2, 2**30, "2.50 GiB", "1.00 GiB"),
        (2**41, 0, "2.00 TiB", "0 bytes"),
    ],
)
def test_ensure_memory_raises_over_the_limit_with_readable_sizes(n_bytes, max_bytes, need_text, have_text):
    with pytest.raises(ImageTooLargeError) as excinfo:
        ensure_memory(n_bytes, "reading 'cat.png'", max_bytes=max_bytes)

    message = str(excinfo.value)
    assert isinstance(excinfo.value, MemoryError) and isinstance(excinfo.value, DeconvkitError)
    assert message.startswith("reading 'cat.png' needs about")
    assert need_text in message and have_text in message


def test_available_memory_is_a_positive_int_and_the_default_limit():
    avail = available_memory()

    assert isinstance(avail, int) and avail > 0
    ensure_memory(1, "one byte")  # default limit: what is available
    with pytest.raises(ImageTooLargeError):
        ensure_memory(10**20, "a hundred exabytes")


@pytest.mark.parametrize(("dtype", "top"), [(np.uint8, 255), (np.uint16, 65535)])
def test_integer_arrays_are_scaled_like_reading(tmp_path, dtype, top):
    raw = np.array([[0, top // 2, top]], dtype=dtype)
    path = tmp_path / "i.png"
    write_image(path, raw, bit_depth=16 if dtype == np.uint16 else 8)
    np.testing.assert_array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), raw)


def test_ambiguous_integer_arrays_refused(tmp_path):
    with pytest.raises(ImageWriteError, match="int32 samples are ambiguous"):
        write_image(tmp_path / "i.png", np.array([[0, 128, 255]], dtype=np.int32))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("quality", [0, 101, 9.5, "high"])
def test_bad_quality_refused(tmp_path, quality):
    with pytest.raises(ImageWriteError, match="quality must be an integer from 1 to 100"):
        write_image(tmp_path / "q.jpg", np.zeros((4, 4)), quality=quality)


def test_publish_without_overwrite_does_not_replace_a_file_that_appeared(tmp_path):
    """The no-overwrite rename is a hard link: a file created after the check survives."""
    from deconvkit.io import _publish

    target = tmp_path / "t.png"
    target.write_bytes(b"first")
    tmp = tmp_path / ".t.png.x.part"
    tmp.write_bytes(b"second")
    with pytest.raises(FileExistsError):
        _publish(tmp, target, overwrite=False)
    assert target.read_bytes() == b"first"
    _publish(tmp, target, overwrite=True)
    assert target.read_bytes() == b"second" and not tmp.exists()
