"""What a simulation is judged by: quantities computed from positions, momenta and
masses, shared by the integrators' logs, the command line and the benchmarks."""
