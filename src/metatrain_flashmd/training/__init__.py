"""Training FlashMD from pairs of frames: checks of the options, data loading and
augmentation, the statistics that normalise the targets, the epochs (loss,
optimisation steps, metrics), the optimiser and learning-rate schedule, and
distributed start and finish. :class:`metatrain_flashmd.trainer.Trainer` drives
them."""
