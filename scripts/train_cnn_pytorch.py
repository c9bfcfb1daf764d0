"""The seed's entry point: ``python scripts/train_cnn_pytorch.py [options]`` (see ``--help``).

A thin wrapper over ``backproplab.training.cli.main``, the same code as ``backproplab train-cnn``;
under ``torchrun --nproc_per_node=N scripts/train_cnn_pytorch.py ...`` it trains with DDP.
"""

import sys

from backproplab.training.cli import main

if __name__ == "__main__":
    sys.exit(main())
