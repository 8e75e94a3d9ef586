"""Transposed convolution ("deconvolution" in deep learning), four ways, and its operator.

A transposed convolution is the **adjoint** of a convolution layer, not its inverse:
convolving then transpose-convolving gives back an array of the input's shape but not
the input (the seeds' example 4). With PyTorch's layout — input ``(N, C_in, H, W)``,
weight ``(C_in, C_out / groups, kH, kW)`` — stride ``s``, padding ``p``, dilation ``d``
and output padding ``a``, per axis::

    out[n, o, i·s + m·d − p, j·s + q·d − p] += x[n, c, i, j] · w[c, o', m, q]

for every input pixel ``(i, j)`` and kernel tap ``(m, q)`` (``o = g·C_out/groups + o'``,
``g`` the group of ``c``); positions outside ``[0, H_out) × [0, W_out)`` are dropped, and
``H_out = (H − 1)s − 2p + d(kH − 1) + a + 1`` (:func:`learned.conv_transpose_output_size`).

The literature explains this in three ways, plus a fourth that is the fast one;
:func:`conv_transpose2d` implements each as its own computation (``method=``), and the
tests check that all agree with PyTorch:

``"subpixel"`` (default: the fastest on the usual upsampling layers)
    Sub-pixel convolution (Shi et al. 2016): output pixel ``(i·s + a, j·s + b)`` only
    meets the kernel taps ``m`` with ``m·d − p ≡ a (mod s)``, so each of the ``s²`` output
    *phases* is an ordinary stride-1 correlation of the input with a ``⌈k/s⌉``-tap
    sub-kernel. All phases are one matrix product — ``(C_out·s², C_in·⌈k/s⌉²)`` weights
    times the input stacked with its ``⌈k/s⌉²`` shifts — followed by a pixel shuffle
    into the output. Zero insertion without the zeros: no multiplication by an inserted
    zero and no overlap-add. When ``s`` does not divide ``k`` the phases have different
    tap counts and the shorter ones are zero-padded (up to ``(⌈k/s⌉·s/k)²`` ≈ 1.8× the
    multiplications for ``k = 3, s = 2``).
``"scatter"``
    Every input pixel scatters a copy of the kernel, scaled by its value, into the output
    (the formula above). Computed as col2im: one matrix product ``Wᵀ x`` gives, for every
    input pixel, all ``C_out·kH·kW`` products at once; then the ``kH·kW`` tap planes are
    added, shifted, into the output. Faster than ``"subpixel"`` for stride 1, for
    ``k = s`` and with dilation; within 1.5× of it elsewhere.
``"zero_insertion"``
    Insert ``s − 1`` zeros between neighbouring input samples, pad by ``d(k − 1) − p``
    (crop if negative) on both sides plus ``a`` at the bottom/right, then run an ordinary
    stride-1 convolution (:func:`learned.conv2d`) with the kernel flipped in space and its
    two channel axes swapped. "Stride" here is the spacing of the inserted zeros, not the
    kernel's step (the seeds' example 3). It multiplies mostly zeros: about ``s²`` times the
    work of the two above.
``"matrix"``
    Multiply by the transpose of the convolution matrix ``C`` of :func:`learned.conv_matrix`
    (``y = Cᵀ x`` per image, sparse for all but small sizes). Didactic; building ``C``
    costs far more than applying it, and at layer sizes it does not fit in memory.

Both fast methods work on bands of rows so that their intermediates (about
:data:`_BAND_ELEMENTS` elements) stay small and warm in cache.

It also equals the gradient of :func:`learned.conv2d` with respect to its input, and
:class:`ConvOperator` pairs the two so that :func:`deconvkit.linop.dottest` can check
``⟨conv2d(x), y⟩ = ⟨x, conv_transpose2d(y)⟩``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deconvkit._validation import as_float_array, check_choice
from deconvkit.linop import LinearOperator
from learned.conv import _check_groups, _conv2d, _conv_params, _prepare
from learned.matrices import _layer_shapes, _matrix, conv_matrix
from learned.shapes import _adjoint_output_padding, _conv_sizes, _ntuple, _transpose_sizes

__all__ = ["conv_transpose2d", "conv_transpose1d", "ConvOperator", "TRANSPOSE_METHODS"]

#: The values of ``conv_transpose2d(..., method=)``; the first is the default.
TRANSPOSE_METHODS = ("subpixel", "scatter", "zero_insertion", "matrix")

#: Elements of the per-band intermediates of ``"subpixel"`` and ``"scatter"`` (16 MiB in
#: float32). Fewer, larger matrix products are also more robust on a busy machine.
_BAND_ELEMENTS = 1 << 22

IntOrPair = int | Sequence[int]


# --------------------------------------------------------------------------- methods


def _axis_plan(n_out: int, k: int, s: int, p: int, d: int) -> tuple[list, list[int], int, int]:
    """Polyphase plan of one axis for ``"subpixel"``.

    Tap ``m`` sends input index ``i`` to output ``i·s + m·d − p = (i + u)·s + a`` with
    ``(u, a) = divmod(m·d − p, s)``. Output phase ``a`` (indices ``a, a + s, ...``, ``n_a`` of
    them) at phase index ``t`` gathers ``x[t − u_m]`` over its taps; with ``u_a`` the largest
    ``u`` of the phase and ``t' = t − u_a`` that is ``x[t' + du_m]``, ``du_m = u_a − u_m >= 0``.

    Returns, per phase, ``(n_a, u_a or None if no tap lands there, {m: du_m})``; the sorted
    shifts ``du`` used by any phase; and the range ``[lo, hi)`` of ``t'`` any phase needs.
    """
    taps = [divmod(m * d - p, s) for m in range(k)]  # (u, a) per tap
    phases = []
    for a in range(s):
        n_a = max(0, (n_out - a + s - 1) // s)
        ms = [m for m in range(k) if taps[m][1] == a]
        if not ms or n_a == 0:
            phases.append((n_a, None, {}))
            continue
        u_a = max(taps[m][0] for m in ms)
        phases.append((n_a, u_a, {m: u_a - taps[m][0] for m in ms}))
    live = [(n_a, u) for n_a, u, _ in phases if u is not None]
    shifts = sorted({du for _, _, mp in phases for du in mp.values()})
    if not live:
        return phases, shifts, 0, 0
    return phases, shifts, min(-u for _, u in live), max(n_a - u for n_a, u in live)


def _subpixel(
    x: np.ndarray,
    weight: np.ndarray,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
    out_hw: tuple[int, int],
) -> np.ndarray:
    """Sub-pixel form: one matrix product for all output phases, then a pixel shuffle.

    With the plans of :func:`_axis_plan` for rows (phases ``a``, shifts ``du``) and
    columns (``b``, ``dv``): ``G[(o, a, b), (t', j')] = Σ_{du, dv, c} B[(o, a, b), (du, dv,
    c)] · x[c, t' + du, j' + dv]`` where ``B`` holds ``w[c, o, m, q]`` for the tap ``m`` of
    phase ``a`` with shift ``du`` (zero if none), and ``out[o, a + s·(t' + u_a), b + s·(j' +
    v_b)] = G[(o, a, b), (t', j')]``. Only phases some tap reaches are computed; the others
    are zero. Done for bands of ``t'`` rows.
    """
    n, c_in, h, w = x.shape
    _, o_g, kh, kw = weight.shape
    c_g, c_out = c_in // groups, o_g * groups
    h_out, w_out = out_hw
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    rphases, rshifts, t_lo, t_hi = _axis_plan(h_out, kh, sh, ph, dh)
    cphases, cshifts, j_lo, j_hi = _axis_plan(w_out, kw, sw, pw, dw)
    live_r = [a for a, (_, u, _) in enumerate(rphases) if u is not None]
    live_c = [b for b, (_, v, _) in enumerate(cphases) if v is not None]
    out = np.empty((n, c_out, h_out, w_out), dtype=x.dtype)
    for a, (n_a, u, _) in enumerate(rphases):  # phases no tap reaches (e.g. dilation = stride)
        if u is None and n_a:
            out[:, :, a::sh] = 0
    for b, (n_b, v, _) in enumerate(cphases):
        if v is None and n_b:
            out[:, :, :, b::sw] = 0
    if not live_r or not live_c:
        return out
    nr, nc, lr, lc = len(rshifts), len(cshifts), len(live_r), len(live_c)
    # B: (G, O_g, live row phases, live column phases, row shifts, column shifts, C_g).
    wt = weight.reshape(groups, c_g, o_g, kh, kw).transpose(0, 2, 3, 4, 1)  # (G, O_g, kH, kW, C_g)
    big = np.zeros((groups, o_g, lr, lc, nr, nc, c_g), dtype=x.dtype)
    for ia, a in enumerate(live_r):
        for m, du in rphases[a][2].items():
            for ib, b in enumerate(live_c):
                for q, dv in cphases[b][2].items():
                    big[:, :, ia, ib, rshifts.index(du), cshifts.index(dv)] = wt[:, :, m, q]
    m_dim, k_dim = o_g * lr * lc, nr * nc * c_g
    big = big.reshape(groups, m_dim, k_dim)
    # Zero-padded input with xz[..., t' − t_lo + du, j' − j_lo + dv] = x[..., t' + du, j' + dv].
    rows, cols = t_hi - t_lo, j_hi - j_lo
    zr, zc = rows + rshifts[-1], cols + cshifts[-1]
    xz = np.zeros((n, groups, c_g, zr, zc), dtype=x.dtype)
    r_src, r_dst, c_src, c_dst = max(0, t_lo), max(0, -t_lo), max(0, j_lo), max(0, -j_lo)
    r_len, c_len = min(h - r_src, zr - r_dst), min(w - c_src, zc - c_dst)
    if r_len > 0 and c_len > 0:
        xz[..., r_dst : r_dst + r_len, c_dst : c_dst + c_len] = x.reshape(n, groups, c_g, h, w)[
            ..., r_src : r_src + r_len, c_src : c_src + c_len
        ]
    band = max(1, min(rows, _BAND_ELEMENTS // (n * groups * (k_dim + m_dim) * cols)))
    stack_buf = np.empty(n * groups * k_dim * band * cols, dtype=x.dtype)
    prod_buf = np.empty(n * groups * m_dim * band * cols, dtype=x.dtype)
    for b0 in range(0, rows, band):
        b1 = min(rows, b0 + band)
        stack = stack_buf[: n * groups * k_dim * (b1 - b0) * cols].reshape(n, groups, nr, nc, c_g, b1 - b0, cols)
        for ir, du in enumerate(rshifts):
            for ic, dv in enumerate(cshifts):
                stack[:, :, ir, ic] = xz[..., b0 + du : b1 + du, dv : dv + cols]
        prod = prod_buf[: n * groups * m_dim * (b1 - b0) * cols].reshape(n, groups, m_dim, -1)
        np.matmul(big, stack.reshape(n, groups, k_dim, -1), out=prod)
        prod = prod.reshape(n, c_out, lr, lc, b1 - b0, cols)
        # Pixel shuffle of this band: phase (a, b) row t' goes to output row a + s·(t' + u_a).
        for ia, a in enumerate(live_r):
            n_a, u, _ = rphases[a]
            lo, hi = max(b0 + t_lo, -u), min(b1 + t_lo, n_a - u)
            if lo >= hi:
                continue
            for ib, b in enumerate(live_c):
                n_b, v, _ = cphases[b]
                c0 = -v - j_lo
                out[:, :, a + (lo + u) * sh : a + (hi - 1 + u) * sh + 1 : sh, b::sw] = prod[
                    :, :, ia, ib, lo - t_lo - b0 : hi - t_lo - b0, c0 : c0 + n_b
                ]
    return out


def _scatter(
    x: np.ndarray,
    weight: np.ndarray,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
    out_hw: tuple[int, int],
) -> np.ndarray:
    """Scatter-add of kernel copies, as col2im: ``cols = Wᵀ x``, then overlap-add of the
    ``kH·kW`` tap planes, one tap at a time.

    Tap ``(m, q)`` sends input pixel ``(i, j)`` to output ``(i·s + m·d − p, j·s + q·d − p)
    = ((i + u)·s + a, (j + v)·s + b)`` with ``(u, a) = divmod(m·d − p, s)`` (likewise
    ``v, b``). So each tap plane lands, shifted by ``(u, v)``, in one *phase* ``(a, b)`` of
    the output (the pixels ``out[a::s, b::s]``). Phases are accumulated in separate
    buffers whose rows share the pitch of the tap planes: the input is zero-padded on the
    right to that pitch, so a shifted tap plane is one contiguous 1-D range and every add
    runs at full SIMD speed (column-strided NumPy adds are several times slower).

    The input is processed in bands of rows; the phase buffers hold only the output rows
    a band touches, and rows no later band can reach are interleaved into the output
    before the next band, so everything but the output stays in cache.
    """
    n, c_in, h, w = x.shape
    _, o_g, kh, kw = weight.shape
    c_g, c_out = c_in // groups, o_g * groups
    h_out, w_out = out_hw
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    row_taps = [divmod(m * dh - ph, sh) for m in range(kh)]  # (u, a) per kernel row
    col_taps = [divmod(q * dw - pw, sw) for q in range(kw)]  # (v, b) per kernel column
    n_rows = [(h_out - a + sh - 1) // sh for a in range(sh)]  # output rows of phase a
    n_cols = [(w_out - b + sw - 1) // sw for b in range(sw)]
    u_min, u_max = min(u for u, _ in row_taps), max(u for u, _ in row_taps)
    v_min, v_max = min(v for v, _ in col_taps), max(v for v, _ in col_taps)
    # Row pitch: real columns shifted right stay in their row, shifted left they land in
    # the previous row's spare columns (never in a kept one); padded columns add zeros.
    pitch = max(w + max(v_max, 0), max(n_cols) - min(v_min, 0))
    xp = np.zeros((n, groups, c_g, h, pitch), dtype=x.dtype)
    xp[..., :w] = x.reshape(n, groups, c_g, h, w)
    xp = xp.reshape(n, groups, c_g, h * pitch)
    # (G, O_g·kH·kW, C_g): row (o', m, q) of group g holds w[g·C_g + c, o', m, q] over c.
    wt = np.ascontiguousarray(weight.reshape(groups, c_g, o_g * kh * kw).transpose(0, 2, 1))
    rows = max(1, min(h, _BAND_ELEMENTS // (n * c_out * kh * kw * pitch)))
    buf = np.empty(n * c_out * kh * kw * rows * pitch, dtype=x.dtype)
    # Phase buffers for phase rows base .. base + span - 1 (base = r0 + u_min), with one
    # spare row before and after for the shifted ranges at the ends.
    span = rows + u_max - u_min
    live = [(a, b) for a in range(sh) for b in range(sw) if n_rows[a] > 0 and n_cols[b] > 0]
    phases = {ab: np.zeros((n, c_out, (span + 2) * pitch), dtype=x.dtype) for ab in live}
    out = np.empty((n, c_out, h_out, w_out), dtype=x.dtype)
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        base = r0 + u_min
        cols = buf[: n * c_out * kh * kw * (r1 - r0) * pitch].reshape(n, groups, o_g * kh * kw, -1)
        np.matmul(wt, xp[..., r0 * pitch : r1 * pitch], out=cols)
        cols = cols.reshape(n, c_out, kh, kw, (r1 - r0) * pitch)
        for m, (u, a) in enumerate(row_taps):
            lo, hi = max(r0, -u), min(r1 - 1, n_rows[a] - 1 - u)  # input rows that land inside
            if lo > hi:
                continue
            for q, (v, b) in enumerate(col_taps):
                if (a, b) in phases:
                    start = (lo + u - base + 1) * pitch + v
                    phases[a, b][:, :, start : start + (hi - lo + 1) * pitch] += cols[
                        :, :, m, q, (lo - r0) * pitch : (hi - r0 + 1) * pitch
                    ]
        # Phase rows t < r1 + u_min get nothing from later bands: move them to the output.
        nxt = r1 + u_min
        for a, b in live:
            t0, t1 = max(base, 0), min(n_rows[a], nxt if r1 < h else base + span)
            if t0 < t1:
                band = phases[a, b][:, :, (t0 - base + 1) * pitch : (t1 - base + 1) * pitch]
                out[:, :, a + t0 * sh : a + (t1 - 1) * sh + 1 : sh, b::sw] = band.reshape(n, c_out, t1 - t0, pitch)[
                    ..., : n_cols[b]
                ]
            if r1 == h and t1 < n_rows[a]:  # bottom rows no tap reaches (output_padding)
                out[:, :, a + t1 * sh :: sh, b::sw] = 0
            if r1 < h:  # keep the rows from nxt on, shifted to the front; clear the rest
                buffer = phases[a, b]
                keep = (span - (nxt - base)) * pitch
                shift = (nxt - base) * pitch
                buffer[:, :, pitch : pitch + keep] = buffer[:, :, pitch + shift : pitch + shift + keep].copy()
                buffer[:, :, :pitch] = 0
                buffer[:, :, pitch + keep :] = 0
    return out


def _pad_or_crop(z: np.ndarray, before: Sequence[int], after: Sequence[int]) -> np.ndarray:
    """Zero-pad the last two axes by ``before``/``after`` samples; negative values crop."""
    pad = [(0, 0), (0, 0)] + [(max(0, b), max(0, a)) for b, a in zip(before, after)]
    if any(p != (0, 0) for p in pad):
        z = np.pad(z, pad)
    crop = tuple(slice(max(0, -b), z.shape[2 + i] - max(0, -a)) for i, (b, a) in enumerate(zip(before, after)))
    return z[(slice(None), slice(None)) + crop]


def _zero_insertion(
    x: np.ndarray,
    weight: np.ndarray,
    stride: tuple[int, int],
    padding: tuple[int, int],
    output_padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
) -> np.ndarray:
    """Insert ``s − 1`` zeros, pad by ``d(k − 1) − p`` (+ output_padding at the end), and
    run a stride-1 conv2d with the flipped kernel whose channel axes are swapped."""
    n, c_in, h, w = x.shape
    _, o_g, kh, kw = weight.shape
    c_g, c_out = c_in // groups, o_g * groups
    (sh, sw), (dh, dw) = stride, dilation
    z = np.zeros((n, c_in, (h - 1) * sh + 1, (w - 1) * sw + 1), dtype=x.dtype)
    z[:, :, ::sh, ::sw] = x
    full = (dh * (kh - 1), dw * (kw - 1))
    before = [f - p for f, p in zip(full, padding)]
    after = [f - p + a for f, p, a in zip(full, padding, output_padding)]
    z = _pad_or_crop(z, before, after)
    # (C_in, O_g, kH, kW) -> (C_out, C_g, kH, kW), flipped in space.
    flipped = weight.reshape(groups, c_g, o_g, kh, kw).transpose(0, 2, 1, 3, 4).reshape(c_out, c_g, kh, kw)
    flipped = np.ascontiguousarray(flipped[:, :, ::-1, ::-1])
    return _conv2d(z, flipped, None, (1, 1), (0, 0), dilation, groups)


def _by_matrix(
    x: np.ndarray,
    weight: np.ndarray,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
    out_hw: tuple[int, int],
) -> np.ndarray:
    """``Cᵀ x`` per image, with ``C`` the matrix of the convolution whose adjoint this is."""
    n, _, h, w = x.shape
    c_out = weight.shape[1] * groups
    # The convolution maps (C_out, H_out, W_out) to (C_in, H, W) (maybe more rows when
    # output_padding >= stride; those rows are cut: the adjoint never produces them).
    c = _matrix(weight, (c_out,) + tuple(out_hw), (h, w), stride, padding, dilation, groups, None)
    flat = x.reshape(n, -1)
    y = flat @ c if isinstance(c, np.ndarray) else (c.T @ flat.T).T
    return np.ascontiguousarray(y, dtype=x.dtype).reshape((n, c_out) + tuple(out_hw))


# --------------------------------------------------------------------------- public


def conv_transpose2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    *,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
    method: str = "subpixel",
) -> np.ndarray:
    """2-D transposed convolution, as ``torch.nn.functional.conv_transpose2d``.

    The adjoint (transpose) of :func:`learned.conv2d` with the same weight, stride,
    padding, dilation and groups — **not its inverse**.

    Parameters
    ----------
    x : (N, C_in, H, W) array_like
        Input batch.
    weight : (C_in, C_out / groups, kH, kW) array_like
        Filters in PyTorch's ``ConvTranspose2d`` layout (input channels first).
    bias : (C_out,) array_like, optional
        Added to each output channel.
    stride : int or (int, int), optional
        Spacing of the kernel copies in the output (equivalently, of the samples after
        zero insertion). Default 1.
    padding : int or (int, int), optional
        Padding of the convolution this is the adjoint of: crops ``padding`` samples from
        both ends of the full output. Default 0.
    output_padding : int or (int, int), optional
        Extra output samples at the bottom/right, ``0 <= output_padding < max(stride,
        dilation)``. Chooses among the input sizes the strided convolution maps to the same
        size; adds no zeros to the input. Default 0.
    dilation : int or (int, int), optional
        Spacing between kernel taps. Default 1.
    groups : int, optional
        Must divide ``C_in``; input channel group ``g`` feeds output channels
        ``g·C_out/groups ... (g + 1)·C_out/groups − 1``. Default 1.
    method : {"subpixel", "scatter", "zero_insertion", "matrix"}, optional
        Which of the four equivalent computations to run (module docstring). ``"subpixel"``
        (default) is the fastest on typical upsampling layers (stride 2, kernel 4) and
        ``"scatter"`` close behind (faster at stride 1 or with dilation); ``"zero_insertion"``
        and ``"matrix"`` are the textbook explanations, for teaching and testing.

    Returns
    -------
    y : (N, C_out, H_out, W_out) ndarray
        ``H_out = (H − 1)s − 2p + d(kH − 1) + output_padding + 1``, likewise ``W_out``.
        float32 if ``x`` and ``weight`` are float32 (or float16), else float64; ``bias`` is
        cast to that dtype.

    Raises
    ------
    InvalidParameterError
        For arrays of the wrong rank, ``weight.shape[0] != C_in``, ``groups`` not dividing
        ``C_in``, invalid stride/padding/dilation, ``output_padding >= max(stride,
        dilation)``, an empty output, or an unknown ``method``.

    See Also
    --------
    learned.conv2d : the convolution this is the adjoint of.
    ConvOperator : the pair as a :class:`deconvkit.linop.LinearOperator`.

    Notes
    -----
    Keras: ``Conv2DTranspose`` stores kernels as ``(kH, kW, out, in)``
    (``numpy.transpose(k, (3, 2, 0, 1))`` gives this layout), and its ``padding="same"``
    places odd kernels one pixel off PyTorch's ``padding=(k - 1) // 2`` at stride 2.

    ``out[n, o, i·s + m·d − p, j·s + q·d − p] += x[n, c, i, j] · w[c, o', m, q]`` (module
    docstring). Equal to the gradient of ``conv2d`` with respect to its input, and to
    ``Cᵀ x`` with ``C = conv_matrix(weight, (C_out, H_out, W_out), ...)``. Composing
    ``conv_transpose2d(conv2d(x))`` gives ``CᵀC x``: the input's shape, not the input.

    References
    ----------
    .. [1] V. Dumoulin and F. Visin, "A guide to convolution arithmetic for deep learning,"
       arXiv:1603.07285, 2016 (zero insertion, output sizes, the matrix view).
    .. [2] W. Shi, J. Caballero, L. Theis, F. Huszár, A. Aitken, C. Ledig and Z. Wang, "Is
       the deconvolution layer the same as a convolutional layer?," arXiv:1609.07009, 2016
       (the sub-pixel form).

    Examples
    --------
    The seeds' article A example, done right: a 3×3 input and a 2×2 kernel at stride 1
    give a 4×4 output (not 5×5); each input value scatters a scaled copy of the kernel.

    >>> import numpy as np
    >>> x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    >>> k = np.array([[1.0, 10.0], [100.0, 1000.0]]).reshape(1, 1, 2, 2)  # a, b, c, d
    >>> conv_transpose2d(x, k)[0, 0].astype(int)  # digits = coefficients of d, c, b, a
    array([[   1,   12,   23,   30],
           [ 104, 1245, 2356, 3060],
           [ 407, 4578, 5689, 6090],
           [ 700, 7800, 8900, 9000]])
    """
    method = check_choice("method", method, TRANSPOSE_METHODS)
    groups = _check_groups(groups)
    x, weight, bias = _prepare(x, weight, bias, groups=groups, transposed=True)
    stride, padding, dilation = _conv_params(stride, padding, dilation)
    output_padding = _ntuple("output_padding", output_padding, 2, low=0)
    out_hw = _transpose_sizes(x.shape[2:], weight.shape[2:], stride, padding, output_padding, dilation)
    if method == "subpixel":
        y = _subpixel(x, weight, stride, padding, dilation, groups, out_hw)
    elif method == "scatter":
        y = _scatter(x, weight, stride, padding, dilation, groups, out_hw)
    elif method == "zero_insertion":
        y = _zero_insertion(x, weight, stride, padding, output_padding, dilation, groups)
    else:
        y = _by_matrix(x, weight, stride, padding, dilation, groups, out_hw)
    if bias is not None:
        y += bias[:, None, None]
    return y


def conv_transpose1d(
    x: Any,
    weight: Any,
    bias: Any = None,
    *,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    method: str = "subpixel",
) -> np.ndarray:
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``.

    Parameters
    ----------
    x : (N, C_in, L) array_like
        Input batch.
    weight : (C_in, C_out / groups, k) array_like
        Filters in PyTorch's ``ConvTranspose1d`` layout.
    bias : (C_out,) array_like, optional
        Added to each output channel.
    stride, padding, output_padding, dilation : int or (int,), optional
        As in :func:`conv_transpose2d`. Defaults 1, 0, 0, 1.
    groups : int, optional
        As in :func:`conv_transpose2d`. Default 1.
    method : {"subpixel", "scatter", "zero_insertion", "matrix"}, optional
        As in :func:`conv_transpose2d`. Default ``"subpixel"``.

    Returns
    -------
    y : (N, C_out, L_out) ndarray
        ``L_out = (L − 1)s − 2p + d(k − 1) + output_padding + 1``; dtype as
        :func:`conv_transpose2d`.

    Notes
    -----
    A thin wrapper: the 2-D code with a height-1 axis. The adjoint of :func:`learned.conv1d`.

    Examples
    --------
    The seeds' article E example (``ConvTranspose1d(1, 1, kernel_size=2, stride=2,
    bias=False)`` with weight ``[3, 4]``): ``[1, 2] -> [a·x, b·x, a·y, b·y]``.

    >>> conv_transpose1d([[[1.0, 2.0]]], [[[3.0, 4.0]]], stride=2)
    array([[[3., 4., 6., 8.]]])
    """
    method = check_choice("method", method, TRANSPOSE_METHODS)
    groups = _check_groups(groups)
    x, weight, bias = _prepare(x, weight, bias, groups=groups, transposed=True, spatial=1)
    (s,), (p,), (d,) = _conv_params(stride, padding, dilation, spatial=1)
    (a,) = _ntuple("output_padding", output_padding, 1, low=0)
    y = conv_transpose2d(
        x[:, :, None, :],
        weight[:, :, None, :],
        bias,
        stride=(1, s),
        padding=(0, p),
        output_padding=(0, a),
        dilation=(1, d),
        groups=groups,
        method=method,
    )
    return y[:, :, 0, :]


class ConvOperator(LinearOperator):
    """A convolution layer as a linear operator: forward :func:`learned.conv2d`, adjoint
    :func:`conv_transpose2d`.

    The adjoint is the transposed convolution — the layer deep learning calls
    "deconvolution" — and it is **not** the inverse: ``op.adjoint(op.forward(x))`` has the
    shape of ``x`` but is not ``x``. :func:`deconvkit.linop.dottest` checks the pair.

    Parameters
    ----------
    weight : (C_out, C_in / groups, kH, kW) or (kH, kW) array_like
        Filters in conv2d layout (the same array is the transposed convolution's weight).
        A 2-D kernel means one input and one output channel.
    input_shape : (C_in, H, W), (N, C_in, H, W) or, with a 2-D kernel, (H, W) tuple of int
        Shape of the arrays :meth:`forward` accepts.
    stride, padding, dilation : int or (int, int), optional
        As in :func:`learned.conv2d`. Defaults 1, 0, 1.
    groups : int, optional
        As in :func:`learned.conv2d`. Default 1.
    method : {"subpixel", "scatter", "zero_insertion", "matrix"}, optional
        The :func:`conv_transpose2d` method used by :meth:`adjoint`. Default ``"subpixel"``.

    Attributes
    ----------
    in_shape, out_shape : tuple of int
        Shapes of :meth:`forward`'s input and output (same rank as ``input_shape``).
    output_padding : (int, int)
        The ``output_padding`` the adjoint uses so that it returns exactly ``input_shape``:
        the remainder ``(H + 2p − d(kH − 1) − 1) mod s`` the strided convolution dropped.
    weight : ndarray
        The 4-D weight (float32 or float64, as the dtype policy says).

    Notes
    -----
    Forward ``y = C x`` (cross-correlation, PyTorch semantics), adjoint ``x' = Cᵀ y`` with
    ``C`` the matrix of :func:`learned.conv_matrix` (:meth:`matrix`), so
    ``⟨C x, y⟩ = ⟨x, Cᵀ y⟩``.

    Examples
    --------
    >>> import numpy as np
    >>> from deconvkit.linop import dottest
    >>> op = ConvOperator(np.ones((2, 3, 3, 3)), (3, 9, 8), stride=2, padding=1)
    >>> op.out_shape, op.output_padding
    ((2, 5, 4), (0, 1))
    >>> lhs, rhs = dottest(op, rng=0)
    """

    def __init__(
        self,
        weight: Any,
        input_shape: Sequence[int],
        *,
        stride: IntOrPair = 1,
        padding: IntOrPair = 0,
        dilation: IntOrPair = 1,
        groups: int = 1,
        method: str = "subpixel",
    ) -> None:
        self.method = check_choice("method", method, TRANSPOSE_METHODS)
        self.groups = _check_groups(groups)
        w, batch_shape = _layer_shapes(weight, input_shape, self.groups, batched=True)
        shape = tuple(int(s) for s in input_shape)  # checked above; the caller's layout: (H, W), (C, H, W) or (N, C, H, W)
        c_out = w.shape[0]
        self.weight = w
        self.stride, self.padding, self.dilation = _conv_params(stride, padding, dilation)
        hw = batch_shape[2:]
        out_hw = _conv_sizes(hw, w.shape[2:], self.stride, self.padding, self.dilation)
        self.output_padding = _adjoint_output_padding(hw, w.shape[2:], self.stride, self.padding, self.dilation)
        self._in_batch = batch_shape
        self.in_shape = shape
        self.out_shape = {2: out_hw, 3: (c_out,) + out_hw, 4: (shape[0], c_out) + out_hw}[len(shape)]

    def _forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, name="x", ndim=(len(self.in_shape),)).reshape(self._in_batch)
        dtype = np.result_type(x.dtype, self.weight.dtype)
        w = self.weight.astype(dtype, copy=False)
        y = _conv2d(x.astype(dtype, copy=False), w, None, self.stride, self.padding, self.dilation, self.groups)
        return y.reshape(self.out_shape)

    def _adjoint(self, y: np.ndarray) -> np.ndarray:
        c_out = self.weight.shape[0]
        y = np.reshape(y, (self._in_batch[0], c_out) + tuple(self.out_shape[-2:]))
        x = conv_transpose2d(
            y,
            self.weight,
            stride=self.stride,
            padding=self.padding,
            output_padding=self.output_padding,
            dilation=self.dilation,
            groups=self.groups,
            method=self.method,
        )
        return x.reshape(self.in_shape)

    def matrix(self, *, sparse: bool | None = None) -> Any:
        """The matrix ``C`` of the forward map on one image (:func:`learned.conv_matrix`)."""
        return conv_matrix(
            self.weight,
            self._in_batch[1:],
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups,
            sparse=sparse,
        )
