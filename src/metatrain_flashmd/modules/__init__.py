"""What metatrain's built-in ``experimental.flashmd_symplectic`` imports by path.

That architecture imports ``metatrain.experimental.flashmd.modules.encoder.NodeEncoder``
and ``metatrain.experimental.flashmd.modules.structures.systems_to_batch``; with this
plugin installed those paths resolve here. FlashMD's own network is in
:mod:`metatrain_flashmd.network`.
"""
