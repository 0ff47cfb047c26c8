"""Checkpoint formats: version numbers and upgrades (:mod:`.versions`) and the
conversion of checkpoints written by metatrain's built-in FlashMD (:mod:`.builtin`).
"""
