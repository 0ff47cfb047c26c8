"""What a FlashMD model writes into a checkpoint and exported model, and which of a
checkpoint's weights it loads.

Checkpoints hold the model hypers, dataset information and floating-point type
(``model_data``) next to the latest and the best weights; the fine-tuning record
(adapters, frozen modules) travels inside the state dicts under
``finetune_config``. Exported models record the stride (fs) and the masses (u) in
the ``extra`` entries of their metadata, where engines and users read them without
loading the weights.
"""

import json
import logging
from typing import Any, Dict, Tuple

import ase.data
from metatomic.torch import ModelMetadata
from metatrain.utils.abc import ModelInterface

from .versions import IMPLEMENTATION


TIMESTEP_METADATA_KEY = "flashmd_timestep_fs"
"""``extra`` metadata key of an exported model: its stride, fs (a number as text)."""

MASSES_METADATA_KEY = "flashmd_masses_u"
"""``extra`` metadata key of an exported model: JSON object of the mass of each
element, u, by chemical symbol."""


def model_checkpoint(model: ModelInterface) -> Dict[str, Any]:
    """The model part of a checkpoint of ``model`` (metatrain's ``get_checkpoint``):
    no epoch, and the current weights as both the latest and the best ones."""
    state_dict = model.state_dict()
    state_dict["finetune_config"] = model.finetune_config
    return {
        "architecture_name": "experimental.flashmd",
        "implementation": IMPLEMENTATION,
        "model_ckpt_version": model.__checkpoint_version__,
        "metadata": model.metadata,
        "model_data": {
            "model_hypers": model.hypers,
            "dataset_info": model.dataset_info,
            "dtype": str(model.timestep.dtype).replace("torch.", ""),
        },
        "epoch": None,
        "best_epoch": None,
        "model_state_dict": state_dict,
        "best_model_state_dict": model.state_dict(),
    }


def weights_to_load(
    checkpoint: Dict[str, Any], context: str
) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The state dict to load from ``checkpoint`` and its fine-tuning record: the
    latest weights to restart, the best ones (or the latest if there are none) to
    fine-tune or export.

    :param context: ``"restart"``, ``"finetune"`` or ``"export"``.
    """
    if context == "restart":
        logging.info(f"Using latest model from epoch {checkpoint['epoch']}")
        state_dict = checkpoint["model_state_dict"]
    elif context in ("finetune", "export"):
        logging.info(f"Using best model from epoch {checkpoint['best_epoch']}")
        state_dict = checkpoint["best_model_state_dict"]
        if state_dict is None:
            state_dict = checkpoint["model_state_dict"]
    else:
        raise ValueError(f"unknown checkpoint context '{context}'")
    state_dict = dict(state_dict)
    finetune_config = state_dict.pop("finetune_config", {})
    return state_dict, finetune_config


def metadata_with_physics(
    metadata: ModelMetadata, timestep: float, masses: Dict[int, float]
) -> ModelMetadata:
    """``metadata`` with the stride and masses in its ``extra`` entries.

    :param timestep: the stride of the model, fs.
    :param masses: mass of each element of the model, u, by atomic number.
    """
    state = json.loads(metadata._get_method("__getstate__")())
    state.pop("class")
    state["extra"] = {
        **state.get("extra", {}),
        TIMESTEP_METADATA_KEY: f"{timestep:.10g}",
        MASSES_METADATA_KEY: json.dumps(
            {ase.data.chemical_symbols[z]: mass for z, mass in masses.items()}
        ),
    }
    return ModelMetadata(**state)
