"""Training FlashMD from pairs of frames: data loading and augmentation, the
statistics that normalise the targets, the loss and metrics, the learning-rate
schedule and distributed start and finish. :class:`metatrain_flashmd.trainer.Trainer`
drives them."""
