"""The seed's overfit test: ``python overfit_test.py`` memorises a tiny dataset (loss < 0.01).

A thin wrapper over ``backproplab overfit``; run ``python overfit_test.py --help`` for options.
"""

import sys

from backproplab.cli import main

if __name__ == "__main__":
    sys.exit(main(["overfit", *sys.argv[1:]]))
