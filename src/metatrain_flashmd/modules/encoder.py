"""The node encoder of ``experimental.flashmd_symplectic``, at the path it imports."""

import torch


class NodeEncoder(torch.nn.Module):
    """Node encoder with the parameter layout ``experimental.flashmd_symplectic``
    expects (it imports this class by its metatrain path).

    The element embedding and a momentum MLP of width ``4 * hidden_size`` are
    concatenated and mapped back to ``hidden_size`` by one linear layer. The
    attribute names are part of that architecture's checkpoint format.

    :param n_species: number of elements.
    :param hidden_size: width of the node features.
    """

    def __init__(self, n_species: int, hidden_size: int) -> None:
        super().__init__()
        wide = 4 * hidden_size
        self.center_encoder = torch.nn.Embedding(n_species, hidden_size)
        self.momenta_encoder = torch.nn.Sequential(
            torch.nn.Linear(3, wide, bias=False),
            torch.nn.SiLU(),
            torch.nn.Linear(wide, wide, bias=False),
            torch.nn.SiLU(),
            torch.nn.Linear(wide, hidden_size, bias=False),
        )
        self.compressor = torch.nn.Linear(2 * hidden_size, hidden_size, bias=False)

    def forward(self, features: torch.Tensor, momenta: torch.Tensor) -> torch.Tensor:
        """(n, hidden_size) features from (n,) species indices and (n, 3) momenta."""
        joined = torch.cat(
            [self.center_encoder(features), self.momenta_encoder(momenta)], dim=-1
        )
        return self.compressor(joined)
