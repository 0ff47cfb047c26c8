"""From MD trajectories to FlashMD training pairs (``mtt-flashmd pairs``).

:mod:`.reading` reads trajectories (:mod:`.frames` checks single frames),
:mod:`.targets` holds the pair-target maths shared with training (unwrapping,
minimum image), :mod:`.splits` cuts contiguous training, validation and test sets,
:mod:`.output` writes pair files and options, :mod:`.build` puts them together and
:mod:`.summary` reports what it did.
"""
