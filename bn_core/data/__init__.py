"""Data sets: 2-D toy sets, the IDX reader, MNIST and Fashion-MNIST."""
