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
