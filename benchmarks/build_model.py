"""Build a FlashMD model with random weights and default hyperparameters, export it.

Run in its own process, once per implementation::

    python benchmarks/build_model.py --out ours.pt
    METATRAIN_FLASHMD_DISABLE=1 python benchmarks/build_model.py --out builtin.pt

``metatrain.experimental.flashmd`` is this package when the import hook is active and
metatrain's built-in FlashMD when ``METATRAIN_FLASHMD_DISABLE=1``. Prints a JSON line:
the implementation, number of parameters and the hyperparameters used.
"""

import argparse
import json
import os

import ase.data
import torch
from common import ATOMIC_TYPES, TIMESTEP_FS

from metatrain_flashmd.dataset_info import flashmd_dataset_info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="exported model (.pt)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--hypers", default="{}", help="JSON changes to the default model hypers"
    )
    parser.add_argument(
        "--chunk-tokens", type=int, default=None, help="ours only: backbone chunks"
    )
    args = parser.parse_args()

    import metatrain.experimental.flashmd as architecture
    from metatrain.utils.architectures import get_default_hypers

    builtin = os.environ.get("METATRAIN_FLASHMD_DISABLE") == "1"
    implementation = "builtin" if builtin else "ours"
    is_ours = architecture.__name__.startswith("metatrain_flashmd")
    if is_ours == builtin:
        raise RuntimeError(f"expected the {implementation} FlashMD, got {architecture}")

    hypers = get_default_hypers("experimental.flashmd")["model"]
    hypers.update(json.loads(args.hypers))
    torch.manual_seed(args.seed)
    model = architecture.__model__(hypers, flashmd_dataset_info(ATOMIC_TYPES))
    model.set_timestep(TIMESTEP_FS)
    if builtin:
        model.set_masses({z: float(ase.data.atomic_masses[z]) for z in ATOMIC_TYPES})
    if args.chunk_tokens is not None and not builtin:
        model.backbone.chunk_tokens = args.chunk_tokens
    model = model.to(getattr(torch, args.dtype))
    num_parameters = sum(p.numel() for p in model.parameters())
    model.export().save(args.out)
    print(
        json.dumps(
            {
                "implementation": implementation,
                "module": architecture.__name__,
                "parameters": num_parameters,
                "hypers": {k: v for k, v in hypers.items() if k != "long_range"},
            }
        )
    )


if __name__ == "__main__":
    main()
