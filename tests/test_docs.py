"""Every ```python block in the README and in docs/ runs as written (docs that match the code)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [
    pytest.param(block, id=f"{page.name}:{n}")
    for page in PAGES
    for n, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL), 1)
]


def test_the_readme_has_runnable_examples() -> None:
    assert any("README.md" in str(p.id) for p in BLOCKS)


@pytest.mark.parametrize("code", BLOCKS)
def test_doc_code_block_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples that save files write them here
    exec(compile(code, "<doc>", "exec"), {"__name__": "__doc__"})
