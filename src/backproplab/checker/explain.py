"""Read the results together: one wrong function behind several failures, and verdicts that look contradictory.

Both come from the results alone (statuses, hints, and the learner's functions each check called),
never from the learner's source: a wrong ``sigmoid`` makes ``forward``, ``backward`` and the training
checks fail too, because each of them called it; ``backward`` failing with "n times too large" while
the Adam-trained checks pass is explained by what Adam does with a gradient's scale.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from backproplab.checker.checks import Result
from backproplab.checker.hints import DIVIDE_BY_N, DIVIDED_TWICE

FAILED = ("fail", "error")


@dataclass(frozen=True)
class Group:
    """A failing function (graded by ``root``) and the other failing checks that called it."""

    root: Result
    followers: list[Result]

    @property
    def function(self) -> str:
        assert self.root.function is not None
        return self.root.function

    def note(self) -> str:
        n, fn = len(self.followers), self.function
        which = ", ".join(r.id for r in self.followers)
        checks = f"{n} check that uses {fn} fails" if n == 1 else f"{n} checks that use {fn} fail"
        return f"{fn} fails; {checks} with it ({which}): fix {fn} first"


def groups(results: Sequence[Result]) -> list[Group]:
    """Each failing function whose failure other failing checks share, itself explained by no other one."""
    roots = [r for r in results if r.status in FAILED and r.function]
    explained = {r.id for r in roots if any(o is not r and o.function in r.uses for o in roots)}
    primary = [r for r in roots if r.id not in explained] or roots  # a cycle: keep them all
    found = []
    for root in primary:
        followers = [r for r in results if r is not root and r.status in FAILED and root.function in r.uses]
        if followers:
            found.append(Group(root, followers))
    return found


def _listed(ids: list[str]) -> str:
    return " and ".join(ids) if len(ids) <= 2 else ", ".join(ids[:-1]) + " and " + ids[-1]


def contradictions(results: Sequence[Result]) -> list[str]:
    """Notes on verdicts that look contradictory, each recognised from the statuses and hints."""
    by_id = {r.id: r for r in results}

    def status(check_id: str) -> str | None:
        return by_id[check_id].status if check_id in by_id else None

    notes = []
    adam_trained = [c for c in ("overfit", "xor") if status(c) == "pass"]
    verb = "pass" if len(adam_trained) > 1 else "passes"
    backward = by_id.get("backward")
    scale = backward.hint if backward is not None and backward.status == "fail" else None
    if scale in (DIVIDE_BY_N, DIVIDED_TWICE) and adam_trained:
        notes.append(
            f"Adam divides by sqrt(v): a gradient n times too {'large' if scale == DIVIDE_BY_N else 'small'} still "
            f"trains, so {_listed(adam_trained)} {verb}; plain SGD would not (see the `network` check)"
        )
    if status("adam") in FAILED and adam_trained:
        notes.append(
            f"{_listed(adam_trained)} {verb} although adam fails: the training checks use the library's Adam on "
            "your gradients, not your adam"
        )
    if status("sgd") in FAILED and status("network") == "pass":
        notes.append("network passes although sgd fails: it trains with the library's plain SGD, not your sgd")
    return notes


def notes(results: Sequence[Result]) -> list[str]:
    """Every note on the results together: the groups first, then the contradictions explained."""
    return [g.note() for g in groups(results)] + contradictions(results)
