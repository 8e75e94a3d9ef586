"""Image files in and out: the one place deconvkit touches image files.

Conventions
-----------
- In memory: ``(H, W)`` grayscale or ``(H, W, C)`` channels-last, **RGB(A) order**, floats.
- Reading scales integers to [0, 1] (8-bit / 255, 16-bit / 65535, correctly rounded in the
  output dtype) and applies the EXIF orientation, so the array looks the way a viewer shows
  the photo.
- Writing clips to [0, 1], scales back to the requested bit depth (8 or 16) and rounds.
  The file is written to a temporary name in the target folder and renamed when complete,
  so an interrupted run never leaves a half-written image; an existing file is replaced
  only with ``overwrite=True``.
- Formats: PNG (8/16-bit, gray/RGB/RGBA), TIFF (8/16-bit), JPEG (8-bit gray/RGB), BMP,
  WebP (8-bit). Decoding is done by OpenCV, headers and EXIF are read with Pillow.
"""

from __future__ import annotations

import os
import struct
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deconvkit._validation import as_float_image
from deconvkit.errors import ImageReadError, ImageTooLargeError, ImageWriteError, InvalidParameterError

__all__ = [
    "ImageInfo",
    "image_info",
    "read_image",
    "read_samples",
    "write_image",
    "available_memory",
    "ensure_memory",
    "write_bytes_atomic",
    "WRITE_FORMATS",
]

WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP", ".webp": "WebP"}
_EIGHT_BIT_ONLY = {"JPEG", "BMP", "WebP"}
_EXIF_ORIENTATION = 0x0112
_CHANNELS_OF_MODE = {"1": 1, "L": 1, "P": 4, "LA": 4, "PA": 4, "RGB": 3, "RGBA": 4, "CMYK": 4, "YCbCr": 3, "I": 1, "F": 1}


@dataclass(frozen=True)
class ImageInfo:
    """What a file's header says: size, channels, bit depth, format, EXIF orientation.

    ``height`` and ``width`` are those of the image as displayed, i.e. after the EXIF
    orientation is applied: the shape :func:`read_image` returns.
    """

    path: Path
    height: int
    width: int
    channels: int
    bit_depth: int
    format: str
    orientation: int = 1


def _open_header(p: Path):
    from PIL import Image, UnidentifiedImageError

    _check_file(p)
    try:
        with warnings.catch_warnings():
            # DecompressionBombWarning: ensure_memory decides. The others are about metadata
            # deconvkit does not use (corrupt EXIF, odd TIFF tags); broken pixel data is still
            # caught when decoding.
            warnings.simplefilter("ignore")
            return Image.open(p)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{str(p)!r} is too large to process safely: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(
            f"{str(p)!r} is not an image in a format deconvkit reads (PNG, JPEG, TIFF, BMP, WebP)"
        ) from exc
    except OSError as exc:
        raise ImageReadError(f"{str(p)!r} could not be read: {exc}") from exc


def _check_file(p: Path) -> None:
    if not p.exists():
        raise ImageReadError(f"{str(p)!r} does not exist")
    if p.is_dir():
        raise ImageReadError(f"{str(p)!r} is a directory, expected an image file")
    if p.stat().st_size == 0:
        raise ImageReadError(f"{str(p)!r} is empty (0 bytes), expected an image file")


def image_info(path: str | os.PathLike) -> ImageInfo:
    """Read an image file's header (no pixel decoding).

    Parameters
    ----------
    path : str or os.PathLike
        Image file.

    Returns
    -------
    info : ImageInfo
        ``height`` and ``width`` are the displayed size (swapped for EXIF orientations 5-8).
        ``channels`` and ``bit_depth`` are the header's best guess (a 16-bit colour PNG may
        report 8 bits here); :func:`read_image` with ``with_info=True`` gives exact values.

    Raises
    ------
    ImageReadError
        Missing file, directory, empty file or unknown format.
    ImageTooLargeError
        Images of more than about 179 million pixels (Pillow's decompression-bomb guard).
    """
    p = Path(path)
    with _open_header(p) as im:
        width, height = im.size
        mode = im.mode
        fmt = im.format or "unknown"
        orientation = _read_orientation(im, p)
        if fmt == "TIFF":
            # Pillow may already report a TIFF's oriented size; start from the stored one.
            try:
                width, height = int(im.tag_v2[256]), int(im.tag_v2[257])
            except (KeyError, TypeError, ValueError):
                pass
    if orientation >= 5:
        width, height = height, width
    bit_depth = 16 if mode.startswith("I;16") or mode == "I" else 8
    channels = _CHANNELS_OF_MODE.get(mode, 1 if mode.startswith("I") else 3)
    return ImageInfo(p, height, width, channels, bit_depth, fmt, orientation)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_exif_chunk(p: Path) -> bytes | None:
    """The payload of a PNG's eXIf chunk, found by skipping from chunk header to chunk header.

    Pillow only parses chunks before the first IDAT when opening; asking it for EXIF that is
    not there makes it decode the whole image. Walking the chunk headers costs one seek per
    chunk and never touches pixel data.
    """
    with open(p, "rb") as fh:
        if fh.read(8) != _PNG_SIGNATURE:
            return None
        while True:
            head = fh.read(8)
            if len(head) < 8:
                return None
            length, kind = struct.unpack(">I4s", head)
            if kind == b"eXIf":
                data = fh.read(length)
                return data if len(data) == length else None
            if kind == b"IEND":
                return None
            fh.seek(length + 4, os.SEEK_CUR)  # data and CRC


def _read_orientation(im, p: Path) -> int:
    """EXIF orientation 1..8 of an opened Pillow image (1 if absent, invalid or unreadable).

    Never decodes pixels. A corrupt EXIF block is treated like a missing one (as viewers do)
    instead of failing or warning: only the orientation tag matters here.
    """
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if im.format == "PNG" and "exif" not in im.info:
                raw = _png_exif_chunk(p)
                if raw is None:
                    return 1
                exif = Image.Exif()
                exif.load(raw if raw.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + raw)
            else:
                exif = im.getexif()
            orientation = int(exif.get(_EXIF_ORIENTATION, 1) or 1)
    except Exception:  # noqa: BLE001 - any EXIF parsing problem means "no usable orientation"
        return 1
    return orientation if 1 <= orientation <= 8 else 1


def available_memory() -> int:
    """Bytes of memory this process can still allocate (MemAvailable, cgroup limit aware)."""
    avail = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            return 1 << 62  # unknown platform: do not refuse
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit != "max":
            avail = min(avail, int(limit) - used)
    except (OSError, ValueError):
        pass
    return max(int(avail), 0)


def ensure_memory(n_bytes: int, what: str, *, max_bytes: int | None = None) -> None:
    """Raise :class:`ImageTooLargeError` if ``n_bytes`` exceed what is available.

    ``max_bytes`` overrides the measured :func:`available_memory`.
    """
    limit = available_memory() if max_bytes is None else int(max_bytes)
    if n_bytes > limit:
        raise ImageTooLargeError(
            f"{what} needs about {_format_bytes(n_bytes)} of memory but only {_format_bytes(limit)} "
            "is available; refusing before allocating (crop or downscale the image, or free memory)"
        )


def _format_bytes(n: int | float) -> str:
    """``n`` bytes in the largest binary unit that keeps the number >= 1 (``"1.50 MiB"``)."""
    n = float(n)
    if abs(n) < 1024:
        return f"{int(n)} bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        n /= 1024.0
        if abs(n) < 1024 or unit == "PiB":
            break
    return f"{n:.2f} {unit}"


def _apply_orientation(a: np.ndarray, orientation: int) -> np.ndarray:
    """Undo EXIF orientation ``1..8`` so that rows run top to bottom as displayed (a view)."""
    ops = {
        1: lambda b: b,
        2: lambda b: b[:, ::-1],
        3: lambda b: b[::-1, ::-1],
        4: lambda b: b[::-1],
        5: lambda b: b.swapaxes(0, 1),
        6: lambda b: np.rot90(b, -1),
        7: lambda b: np.rot90(b, 2).swapaxes(0, 1),
        8: lambda b: np.rot90(b, 1),
    }
    return ops.get(orientation, ops[1])(a)


def _looks_truncated_jpeg(data: bytes) -> bool:
    """True if the last scan of a JPEG is not followed by an end-of-image marker.

    Inside entropy-coded data 0xFF is always stuffed, so ``FF D9`` only occurs as a marker;
    trailers some cameras append after EOI do not trip this check.
    """
    return data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda")


def read_samples(
    path: str | os.PathLike, *, max_bytes: int | None = None, extra_bytes_per_sample: int = 0
) -> tuple[np.ndarray, ImageInfo]:
    """Read an image file's samples as stored: uint8, uint16 or float32, not rescaled.

    RGB(A) order and EXIF orientation as :func:`read_image`; for pipelines that stay in
    integers (the command line) and so avoid a float copy of the whole image.

    Parameters
    ----------
    path : str or os.PathLike
        PNG, JPEG, TIFF, BMP or WebP file.
    max_bytes : int, optional
        Refuse images whose decoded samples (plus ``extra_bytes_per_sample`` per sample)
        would exceed this many bytes (default: the memory currently available).
    extra_bytes_per_sample : int, optional
        Memory the caller will need per sample on top of the decoded ones (for the check).

    Returns
    -------
    samples : (H, W) or (H, W, C) ndarray
        uint8 (8-bit files), uint16 (16-bit) or float32 (float TIFF).
    info : ImageInfo
        ``bit_depth`` and ``channels`` of the decoded samples.

    Raises
    ------
    ImageReadError, ImageTooLargeError
        As :func:`read_image`.
    """
    import cv2

    p = Path(path)
    header = image_info(p)
    ensure_memory(
        header.height * header.width * header.channels * (2 + int(extra_bytes_per_sample)),
        f"reading {str(p)!r} ({header.width}x{header.height})",
        max_bytes=max_bytes,
    )
    data = p.read_bytes()
    if header.format == "JPEG" and _looks_truncated_jpeg(data):
        raise ImageReadError(f"{str(p)!r} is a truncated JPEG (no end-of-image marker after the last scan)")
    try:
        raw = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        detail = str(exc).strip().splitlines()[-1]
        if "validateInputImageSize" in detail:
            raise ImageTooLargeError(
                f"{str(p)!r} ({header.width}x{header.height}) exceeds OpenCV's image size limits: {detail}"
            ) from exc
        raise ImageReadError(f"{str(p)!r} could not be decoded: {detail}") from exc
    del data
    if raw is None or raw.size == 0:
        raise ImageReadError(f"{str(p)!r} could not be decoded: the file is corrupt or truncated")
    if raw.ndim == 3 and raw.shape[2] == 1:
        raw = raw[..., 0]
    if raw.ndim == 3 and raw.shape[2] not in (3, 4):
        raise ImageReadError(f"{str(p)!r} has {raw.shape[2]} channels; deconvkit reads 1, 3 or 4")
    bit_depth = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16, np.dtype(np.float32): 32}.get(raw.dtype)
    if bit_depth is None:
        raise ImageReadError(f"{str(p)!r} has {raw.dtype} samples; deconvkit reads 8-bit, 16-bit and float32 images")
    # OpenCV's TIFF decoder applies the orientation tag itself (even with IMREAD_UNCHANGED);
    # for the other formats the pixels come out as stored.
    if header.format != "TIFF":
        raw = _apply_orientation(raw, header.orientation)
    if raw.ndim == 3:  # BGR(A) -> RGB(A) (OpenCV, multi-threaded)
        raw = cv2.cvtColor(raw, cv2.COLOR_BGRA2RGBA if raw.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    channels = 1 if raw.ndim == 2 else raw.shape[2]
    return raw, ImageInfo(p, raw.shape[0], raw.shape[1], channels, bit_depth, header.format, header.orientation)


def read_image(
    path: str | os.PathLike,
    *,
    dtype: type = np.float32,
    with_info: bool = False,
    max_bytes: int | None = None,
) -> np.ndarray | tuple[np.ndarray, ImageInfo]:
    """Read an image file as a float array in [0, 1], RGB(A) order, EXIF orientation applied.

    Parameters
    ----------
    path : str or os.PathLike
        PNG, JPEG, TIFF, BMP or WebP file; 8 or 16 bit; gray, RGB or RGBA.
    dtype : {numpy.float32, numpy.float64}, optional
        Output dtype. float32 (default) is exact for 8- and 16-bit data and halves memory.
    with_info : bool, optional
        Also return an :class:`ImageInfo` whose ``bit_depth`` and ``channels`` are those of
        the decoded pixels.
    max_bytes : int, optional
        Refuse images whose decoded and converted arrays would exceed this many bytes
        (default: the memory currently available).

    Returns
    -------
    image : (H, W) or (H, W, C) ndarray
        ``C`` is 3 (RGB) or 4 (RGBA). Grayscale files give 2-D arrays.
    info : ImageInfo
        Only with ``with_info=True``.

    Raises
    ------
    ImageReadError
        Missing, empty, directory, not an image, corrupt or truncated file.
    ImageTooLargeError
        The image would not fit in memory (checked from the header, before decoding), or
        its width or height exceeds OpenCV's limit (2**20 by default).
    InvalidParameterError
        ``dtype`` is not float32 or float64.
    """
    import cv2

    try:
        out_dtype = None if dtype is None else np.dtype(dtype)
    except TypeError:
        out_dtype = None
    if out_dtype not in (np.float32, np.float64):
        raise InvalidParameterError(f"dtype must be float32 or float64, got {dtype!r}")
    raw, info = read_samples(path, max_bytes=max_bytes, extra_bytes_per_sample=out_dtype.itemsize)
    if raw.dtype.kind == "f":
        image = raw.astype(out_dtype)
    else:
        # A table of k / scale, each correctly rounded (a division, not a product with a
        # rounded 1/scale): 255 -> exactly 1.0 and k -> the float nearest to k / 255.
        scale = float(np.iinfo(raw.dtype).max)
        table = (np.arange(int(scale) + 1, dtype=np.float64) / scale).astype(out_dtype)
        image = cv2.LUT(raw, table) if raw.dtype == np.uint8 else np.take(table, raw)
    del raw
    return (image, info) if with_info else image


def write_image(
    path: str | os.PathLike,
    image: np.ndarray,
    *,
    bit_depth: int = 8,
    overwrite: bool = False,
    quality: int = 95,
) -> Path:
    """Write a float image in [0, 1] to a file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Target; the format follows the suffix (``.png``, ``.jpg``/``.jpeg``, ``.tif``/
        ``.tiff``, ``.bmp``, ``.webp``). Its folder must exist.
    image : (H, W) or (H, W, C) array_like
        ``C`` in {1, 3, 4}, RGB(A) order. Floats in [0, 1]; values outside are clipped here
        (and only here: algorithms never clip). uint8 and uint16 arrays are scaled by 255 and
        65535 first, as on reading; other integer types are refused as ambiguous.
    bit_depth : {8, 16}, optional
        Sample depth of the file. 16 is accepted for PNG and TIFF only.
    overwrite : bool, optional
        Replace an existing file. Default False: an existing file is an error.
    quality : int, optional
        JPEG/WebP quality, 1--100.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Raises
    ------
    ImageWriteError
        Unknown suffix, missing folder, existing file without ``overwrite``, format that
        cannot hold the bit depth or the alpha channel, or an OS error while writing (the
        target is then left untouched).
    """
    import cv2

    p = Path(path)
    fmt = WRITE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ImageWriteError(
            f"cannot write {str(p)!r}: unknown image suffix {p.suffix!r}; use one of {', '.join(sorted(WRITE_FORMATS))}"
        )
    if not p.parent.is_dir():
        raise ImageWriteError(f"cannot write {str(p)!r}: folder {str(p.parent)!r} does not exist")
    if p.is_dir():
        raise ImageWriteError(f"cannot write {str(p)!r}: it is a directory")
    if p.exists() and not overwrite:
        raise ImageWriteError(f"{str(p)!r} already exists; pass overwrite=True (--overwrite) to replace it")
    if bit_depth not in (8, 16):
        raise ImageWriteError(f"bit_depth must be 8 or 16, got {bit_depth!r}")
    if bit_depth == 16 and fmt in _EIGHT_BIT_ONLY:
        raise ImageWriteError(f"{fmt} stores 8-bit images only, got bit_depth=16; write .png or .tif for 16 bit")
    check = np.asarray(quality)
    if fmt in ("JPEG", "WebP") and not (check.ndim == 0 and check.dtype.kind in "iu" and 1 <= int(check) <= 100):
        raise ImageWriteError(f"quality must be an integer from 1 to 100, got {quality!r}")
    raw = np.asarray(image)
    if raw.dtype.kind in "iu" and raw.dtype not in (np.uint8, np.uint16):
        raise ImageWriteError(
            f"cannot write {str(p)!r}: {raw.dtype} samples are ambiguous; pass floats in [0, 1] (or uint8/uint16)"
        )
    if raw.ndim == 3 and raw.shape[2] == 1:
        raw = raw[..., 0]
    if raw.ndim not in (2, 3) or raw.size == 0:
        raise ImageWriteError(f"cannot write {str(p)!r}: image must be a non-empty 2-D or 3-D array, got shape {raw.shape}")
    if raw.ndim == 3 and raw.shape[2] not in (3, 4):
        raise ImageWriteError(f"cannot write {str(p)!r}: images need 1, 3 or 4 channels, got {raw.shape[2]}")
    if fmt == "JPEG" and raw.ndim == 3 and raw.shape[2] == 4:
        raise ImageWriteError(f"cannot write {str(p)!r}: JPEG has no alpha channel; drop it or write .png")
    arr = _to_file_samples(raw, bit_depth, str(p))
    if arr.ndim == 3:  # BGR(A) order for the encoder
        arr = cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA if arr.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    params: list[int] = []
    if fmt == "JPEG":
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    elif fmt == "WebP":
        params = [cv2.IMWRITE_WEBP_QUALITY, int(quality)]
    ok, buf = cv2.imencode(p.suffix.lower(), arr, params)
    if not ok:
        raise ImageWriteError(f"OpenCV could not encode {str(p)!r} as {fmt}")
    del arr
    write_bytes_atomic(p, buf, overwrite=overwrite)
    return p


def _to_file_samples(raw: np.ndarray, bit_depth: int, name: str) -> np.ndarray:
    """Integer samples of ``bit_depth`` bits from floats in [0, 1] or uint8/uint16 samples."""
    import cv2

    if raw.dtype == np.uint8:  # exact: 8 -> 16 bit is v * 257
        return raw if bit_depth == 8 else raw.astype(np.uint16) * np.uint16(257)
    if raw.dtype == np.uint16:  # round(v * 255 / 65535) = (v + 128) // 257
        return raw if bit_depth == 16 else ((raw.astype(np.uint32) + 128) // 257).astype(np.uint8)
    try:
        x = as_float_image(raw)
    except InvalidParameterError as exc:
        raise ImageWriteError(f"cannot write {name!r}: {exc}") from exc
    # One pass: scale, round half to even and saturate to the integer range (OpenCV's
    # saturate_cast, multi-threaded; the same as clip + numpy.rint for finite values).
    top, depth = (65535.0, cv2.CV_16U) if bit_depth == 16 else (255.0, cv2.CV_8U)
    return cv2.addWeighted(x, top, x, 0.0, 0.0, dtype=depth)


def write_bytes_atomic(path: str | os.PathLike, data: bytes | memoryview | np.ndarray, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` so that readers never see a partial file.

    The bytes go to a unique temporary file in the target folder (``O_EXCL``, mode 0o666
    less the umask), are flushed to disk, and the file is then moved into place in one
    step. Any failure removes the temporary file and leaves ``path`` untouched.

    Raises
    ------
    ImageWriteError
        ``path`` exists and ``overwrite`` is False (checked atomically), or an OS error.
    """
    p = Path(path)
    tmp = p.parent / f".{p.name}.{uuid.uuid4().hex[:12]}.part"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise ImageWriteError(f"could not write {str(p)!r}: {exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _publish(tmp, p, overwrite=overwrite)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, FileExistsError):
            raise ImageWriteError(f"{str(p)!r} already exists; pass overwrite=True (--overwrite) to replace it") from exc
        if isinstance(exc, OSError):
            raise ImageWriteError(f"could not write {str(p)!r}: {exc}") from exc
        raise
    return p


def _publish(tmp: Path, target: Path, *, overwrite: bool) -> None:
    """Move the finished temporary file to ``target`` in one step.

    Without ``overwrite`` a hard link is used, which fails if ``target`` appeared in the
    meantime (no check-then-replace race); file systems without hard links fall back to a
    checked rename.
    """
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (e.g. some network or FAT file systems)
        if target.exists():
            raise FileExistsError(str(target)) from None
        os.replace(tmp, target)
        return
    tmp.unlink()
