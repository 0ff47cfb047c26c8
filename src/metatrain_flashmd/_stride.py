"""The range of strides FlashMD is known to work in, and the warning beyond it.

Shared by ``mtt-flashmd pairs`` (the stride of the training pairs) and the
integrators (the stride of an exported model), so that both say the same.
"""

from typing import Optional


KNOWN_STRIDE_FS = 200.0
"""Longest stride (fs) in the range where FlashMD is known to work. Published
FlashMD models and this package's benchmarks use 16 to 64 fs; beyond a few hundred
fs no model has been shown to reproduce the dynamics."""

KNOWN_STRIDE_RATIO = 100.0
"""Largest ratio of the stride to the timestep of the reference MD in that range
(FlashMD strides are 10 to 60 times a stable MD timestep)."""

WHY = (
    "over longer strides the end state depends chaotically on the start, and no "
    "FlashMD model has been shown to reproduce the dynamics there: expect wrong "
    "temperatures or structure, and compare with reference MD before trusting it"
)
"""Why a stride beyond the known range is a risk."""


def stride_warning(
    stride_fs: float,
    md_step_fs: Optional[float] = None,
    frames_per_stride: Optional[int] = None,
) -> Optional[str]:
    """A warning when a stride lies beyond the range FlashMD is known to work in;
    ``None`` within it.

    :param stride_fs: the stride, fs.
    :param md_step_fs: the timestep of the reference MD, fs, when known.
    :param frames_per_stride: frames of the reference trajectory per stride (the
        ``--lag``), when known: the MD step is at most the time between frames, so
        the stride is at least this many MD steps.
    """
    reasons = []
    if stride_fs > KNOWN_STRIDE_FS:
        reasons.append(
            f"above the {KNOWN_STRIDE_FS:g} fs up to which FlashMD is known to work"
        )
    if md_step_fs is not None and md_step_fs > 0:
        ratio = stride_fs / md_step_fs
        if ratio > KNOWN_STRIDE_RATIO:
            reasons.append(
                f"{ratio:.4g} times the {md_step_fs:g} fs step of the reference MD, "
                f"more than the {KNOWN_STRIDE_RATIO:g} times FlashMD is known to "
                "work for"
            )
    elif frames_per_stride is not None and frames_per_stride > KNOWN_STRIDE_RATIO:
        reasons.append(
            f"{frames_per_stride} frames of the reference trajectory, so at least "
            f"{frames_per_stride} of its MD steps, more than the "
            f"{KNOWN_STRIDE_RATIO:g} FlashMD is known to work for"
        )
    if not reasons:
        return None
    return (
        f"warning: a stride of {stride_fs:g} fs is "
        + " and ".join(reasons)
        + (f": {WHY}")
    )
