"""Training runs: trainers, the run registry, the scheduler and its backends."""
