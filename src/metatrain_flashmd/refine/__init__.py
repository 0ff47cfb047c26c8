"""``refine``: train, validate, and while validation fails, learn from the states
the model visits.

Each round runs FlashMD from the validation start, scores the states it visits by
how far they stray from what the reference visits (:mod:`.trouble`), restarts
short reference MD from the worst of them and from copies whose elements are
deliberately out of equipartition (:mod:`.restarts`), turns those runs into pairs
with :func:`~metatrain_flashmd.pairs.build.build_pairs`, and fine-tunes the last
checkpoint with a fresh warm-up and decay (:mod:`.training`), on a schedule set by
documented rules (:mod:`.schedule`). The loop (:mod:`.loop`) stops when
validation passes or the round budget is spent; every round keeps its files in its
own folder (:mod:`.plan`), so an interrupted refine resumes where it stopped.
"""

from metatrain_flashmd.refine.errors import RefineError, RefineInputError
from metatrain_flashmd.refine.loop import RefineResult, refine


__all__ = ["RefineError", "RefineInputError", "RefineResult", "refine"]
