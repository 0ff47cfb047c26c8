"""Plot of the time per atom and per stride against system size, both models."""

from pathlib import Path
from typing import Any, Dict

import matplotlib


matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


LABELS = {"ours": "metatrain-flashmd", "builtin": "built-in experimental.flashmd"}


def plot_inference(results: Dict[str, Any], path: Path) -> None:
    """Time per atom per stride (ms) against the number of atoms, fcc Al, with the
    alloy melt as separate markers; saved as a PNG at ``path``."""
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    for implementation, color in (("ours", "tab:blue"), ("builtin", "tab:orange")):
        sizes, per_atom = [], []
        for spec, summary in results["systems"].items():
            entry = summary[implementation]
            if spec.startswith("al:"):
                sizes.append(entry["atoms"])
                per_atom.append(entry["per_atom_ms"])
            else:
                axis.plot(
                    entry["atoms"],
                    entry["per_atom_ms"],
                    marker="*",
                    markersize=11,
                    linestyle="none",
                    color=color,
                    label=f"{LABELS[implementation]} (Cu/Au melt)",
                )
        axis.plot(
            sizes,
            per_atom,
            marker="o",
            color=color,
            label=f"{LABELS[implementation]} (fcc Al)",
        )
    axis.set_xscale("log")
    axis.set_xlabel("atoms")
    axis.set_ylabel("time per atom per stride (ms)")
    axis.set_ylim(bottom=0)
    axis.set_title(
        f"FlashMD inference, float32, {results['threads']} threads, "
        f"{results['date'][:10]}"
    )
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
