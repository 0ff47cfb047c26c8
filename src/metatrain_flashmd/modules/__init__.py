"""Building blocks of the FlashMD model and trainer (plain torch, TorchScript-ready)."""
