"""Initial node features from each atom's element and (mass-scaled) momentum."""

import torch


class MomentumEncoder(torch.nn.Module):
    """Species embedding plus an MLP of the atom's mass-scaled momentum.

    ``h_i = E[s_i] + MLP(v_i)`` with ``v_i = p_i / sqrt(m_i)`` divided by its RMS over
    the training data (the model does this scaling). The MLP has no biases, so the
    momentum contribution vanishes for an atom at rest.

    :param num_species: number of elements the model knows.
    :param d_out: width of the node features produced.
    :param d_hidden: width of the two hidden layers of the MLP.
    """

    def __init__(self, num_species: int, d_out: int, d_hidden: int) -> None:
        super().__init__()
        self.species_embedding = torch.nn.Embedding(num_species, d_out)
        self.momentum_mlp = torch.nn.Sequential(
            torch.nn.Linear(3, d_hidden, bias=False),
            torch.nn.SiLU(),
            torch.nn.Linear(d_hidden, d_hidden, bias=False),
            torch.nn.SiLU(),
            torch.nn.Linear(d_hidden, d_out, bias=False),
        )

    def forward(
        self, species_index: torch.Tensor, scaled_momenta: torch.Tensor
    ) -> torch.Tensor:
        """(n, d_out) node features from (n,) species indices and (n, 3) momenta."""
        return self.species_embedding(species_index) + self.momentum_mlp(scaled_momenta)


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
