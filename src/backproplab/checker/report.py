"""The check report: a table for people, JSON for tools, and the exit status.

Exit status: 0 when every attempted check passed and at least one was attempted; 1 otherwise.
A "not attempted" check (a function not written yet) does not fail the run, so a learner can
check exercise by exercise; a file with none of the seed's functions at all is reported as 1.

When one failing function explains other failures, the report says so once, and it explains verdicts
that look contradictory (:mod:`~backproplab.checker.explain`).
"""

import json
from collections.abc import Sequence
from dataclasses import asdict

from backproplab.checker.checks import STATUSES, Result, Status
from backproplab.checker.explain import groups, notes


def counts(results: Sequence[Result]) -> dict[Status, int]:
    """How many results have each status, every status listed (zeros included)."""
    return {status: sum(r.status == status for r in results) for status in STATUSES}


def exit_code(results: Sequence[Result]) -> int:
    attempted = [r for r in results if r.status != "not attempted"]
    return 0 if attempted and all(r.status == "pass" for r in attempted) else 1


def format_text(label: str, results: Sequence[Result], timeout: float) -> str:
    """The report as lines: one per check, its hint under it, then the notes, the summary and the verdict."""
    lines = [f"backproplab check: {label}, {len(results)} checks, time limit {timeout:g} s each"]
    width = max((len(r.id) for r in results), default=0)
    cause = {r.id: g.function for g in groups(results) for r in g.followers}
    previous: Result | None = None
    for r in results:
        status = r.status if r.status in ("pass", "not attempted") else r.status.upper()
        if previous is not None and r.hint and (r.detail, r.hint) == (previous.detail, previous.hint):
            # a file that does not import fails every check the same way: say it once
            lines.append(f"  {r.exercise:<12} {r.id:<{width}}  {status:<13}  (the same as above)")
        else:
            lines.append(f"  {r.exercise:<12} {r.id:<{width}}  {status:<13}  {r.detail}")
            hint = f"it uses {cause[r.id]}, which fails: fix {cause[r.id]} first" if r.id in cause else r.hint
            if hint:
                lines.append(f"  {'':<12} {'':<{width}}  {'':<13}  hint: {hint}")
        previous = r
    lines.extend(f"note: {note}" for note in notes(results))
    summary = ", ".join(f"{n} {status}" for status, n in counts(results).items())
    lines.append(f"summary: {summary}")
    if not any(r.status != "not attempted" for r in results):
        lines.append(
            "nothing attempted: no function with one of the seed's names was found, or each is still a stub "
            "(see docs/checker.md)"
        )
    else:
        lines.append("all attempted checks PASSED" if exit_code(results) == 0 else "some checks did NOT pass")
    return "\n".join(lines)


def to_json(label: str, results: Sequence[Result]) -> str:
    """``{"implementation", "checks": [one object per check], "notes", "summary", "exit_code"}`` as JSON."""
    return json.dumps(
        {
            "implementation": label,
            "checks": [asdict(r) for r in results],
            "notes": notes(results),
            "summary": counts(results),
            "exit_code": exit_code(results),
        },
        indent=2,
    )
