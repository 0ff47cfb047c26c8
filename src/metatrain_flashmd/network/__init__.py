"""The FlashMD network: TorchScript-ready torch modules and tensor functions only.

From a batch of atoms (:mod:`.batching`) through the element and momentum encoder
(:mod:`.encoder`), the transformer layers (:mod:`.transformer`, :mod:`.backbone`) and
the readout heads (:mod:`.heads`) to displacements and momenta, with total momentum
and the centre of mass conserved exactly (:mod:`.conservation`). :mod:`.flashmd`
wires them into one network, whose results (:mod:`.outputs`) become the metatensor
outputs of the model.
"""
