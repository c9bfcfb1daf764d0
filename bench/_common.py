"""What every benchmark prints about where it ran (imported by the scripts in bench/)."""

import os
import platform

import numpy as np
import torch
from threadpoolctl import threadpool_info


def environment_lines(threads: int) -> list[str]:
    """The machine, the thread count and the library versions (call inside the thread limits)."""
    blas = [f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)" for i in threadpool_info()]
    return [
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; threads {threads}",
        f"numpy {np.__version__} [{'; '.join(blas)}], torch {torch.__version__}",
    ]
