"""Learning-rate schedules as pure functions of the step: what ``torch.optim.lr_scheduler`` computes.

A schedule maps the step about to run, ``step`` in ``[0, total)``, to ``(lr, momentum)``;
``momentum`` is ``None`` where the schedule leaves it alone. The NumPy training loop sets
``optimizer.lr`` (and Adam's ``beta1`` or Momentum's ``beta``) from it before each step, so a run
follows the same curve whichever engine trains it.
"""

import math
from collections.abc import Callable

Schedule = Callable[[int], tuple[float, float | None]]


def _cos(start: float, end: float, pct: float) -> float:
    """Cosine from ``start`` (``pct = 0``) to ``end`` (``pct = 1``)."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)


def onecycle(
    max_lr: float,
    total: int,
    pct_start: float = 0.25,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    momentum: tuple[float, float] = (0.85, 0.95),
) -> Schedule:
    """``torch.optim.lr_scheduler.OneCycleLR`` (cosine annealing, momentum cycled).

    The learning rate climbs from ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start``
    of the steps, then falls to ``max_lr / div_factor / final_div_factor``; momentum moves the
    other way, from ``momentum[1]`` down to ``momentum[0]`` at the peak and back.
    """
    if total < 1:
        raise ValueError(f"a schedule needs total >= 1 steps, got {total}")
    initial = max_lr / div_factor
    phases = [
        (float(pct_start * total) - 1, initial, max_lr, momentum[1], momentum[0]),
        (float(total - 1), max_lr, initial / final_div_factor, momentum[0], momentum[1]),
    ]

    def at(step: int) -> tuple[float, float | None]:
        start_step = 0.0
        for i, (end_step, lr0, lr1, m0, m1) in enumerate(phases):
            if step <= end_step or i == len(phases) - 1:
                pct = (step - start_step) / (end_step - start_step) if end_step != start_step else 1.0
                return _cos(lr0, lr1, pct), _cos(m0, m1, pct)
            start_step = end_step
        raise AssertionError("unreachable: the last phase always answers")

    return at


def cosine(lr: float, total: int) -> Schedule:
    """``CosineAnnealingLR(T_max=total)``: ``lr * (1 + cos(pi * step / total)) / 2``, down to 0."""
    return lambda step: (lr * (1.0 + math.cos(math.pi * step / total)) / 2.0, None)


def constant(lr: float) -> Schedule:
    """The same ``lr`` at every step."""
    return lambda step: (lr, None)


def make_schedule(name: str, lr: float, total: int) -> Schedule:
    """``"onecycle"``, ``"cosine"`` or ``"constant"`` over ``total`` steps peaking at ``lr``."""
    if name == "onecycle":
        return onecycle(lr, total)
    if name == "cosine":
        return cosine(lr, total)
    if name == "constant":
        return constant(lr)
    raise ValueError(f"schedule must be onecycle, cosine or constant, got {name!r}")
