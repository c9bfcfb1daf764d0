"""``backproplab init``: the starter kit's files and notebooks, and what the checker and the notebooks make of them."""

import argparse
import ast
import importlib
import inspect
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from backproplab.checker.checks import CHECKS
from backproplab.checker.names import SIGNATURES
from backproplab.checker.sandbox import MARK
from backproplab.cli import main
from backproplab.starter import check_part, pictures
from backproplab.starter.cli import add_parser
from backproplab.starter.parts import PARTS, Part, part_checks, part_of
from backproplab.starter.writer import notebook_script, to_ipynb

SEED = Path(__file__).parent / "learner_solutions" / "seed_solutions.py"
NOTEBOOK_SCRIPTS = Path(__file__).parents[1] / "src" / "backproplab" / "starter" / "notebooks"

# The kit's functions, part by part, in the order the starter files define them (the agreed names).
FUNCTIONS = {
    "part1_activations": [
        "sigmoid",
        "sigmoid_deriv",
        "relu",
        "relu_deriv",
        "tanh",
        "tanh_deriv",
        "leaky_relu",
        "leaky_relu_deriv",
        "num_derivative",
    ],
    "part2_dense_softmax": ["dense_forward", "logsumexp", "softmax", "categorical_cross_entropy", "bce"],
    "part3_network": ["forward", "backward"],
    "part4_optimizers": ["sgd", "momentum", "adam", "clip_by_norm"],
    "part5_cnn": [
        "conv2d_out",
        "conv2d_forward",
        "conv2d_backward",
        "maxpool2d_forward",
        "maxpool2d_backward",
        "batchnorm_forward",
        "batchnorm_backward",
        "dropout_forward",
        "dropout_backward",
    ],
}
KIT_FILES = sorted(
    [f"{stem}.py" for stem in FUNCTIONS] + [f"{stem}_notebook.ipynb" for stem in FUNCTIONS] + ["README.md"]
)
SEED_HELPERS = {
    "loss_fn": "part3_network",
    "grad_f": "part4_optimizers",
}  # the seed's functions the kit does not ask for

# The library's functions under the kit's names, one file per part: a kit in which every notebook cell runs.
LIBRARY_KIT = {
    "part1_activations": """
from backproplab.activations import (
    leaky_relu, leaky_relu_deriv, relu, relu_deriv, sigmoid, sigmoid_deriv, tanh, tanh_deriv,
)
from backproplab.gradcheck import num_derivative
""",
    "part2_dense_softmax": """
from backproplab.activations import logsumexp, softmax
from backproplab.layers import dense_forward
from backproplab.losses import binary_cross_entropy as bce
from backproplab.losses import categorical_cross_entropy
""",
    "part3_network": """
from backproplab.checker.reference import backward, forward
""",
    "part4_optimizers": """
from backproplab.checker.reference import adam, sgd
from backproplab.demos import quadratic_path
from backproplab.optim import Momentum, clip_by_norm


def momentum(w0, lr, steps, beta=0.9):
    return float(quadratic_path(Momentum(lr, beta), w0, steps)[-1])
""",
    "part5_cnn": """
from backproplab.cnn import conv2d_backward, conv2d_forward, conv2d_out, maxpool2d_backward, maxpool2d_forward
from backproplab.layers import batchnorm_backward, batchnorm_forward, dropout_backward, dropout_forward
""",
}


def init(*argv: str) -> int:
    """``backproplab init ARGV`` through the command's own parser."""
    parser = argparse.ArgumentParser(prog="backproplab")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["init", *argv])
    code: int = args.func(args)
    return code


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    folder = tmp_path / "kit"
    assert init(str(folder)) == 0
    return folder


@pytest.fixture
def learner_modules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Forget the kit's modules before and after the test: each test imports its own kit's files."""
    for stem in FUNCTIONS:
        monkeypatch.delitem(sys.modules, stem, raising=False)
    yield
    for stem in FUNCTIONS:
        sys.modules.pop(stem, None)


def import_kit(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, ModuleType]:
    monkeypatch.syspath_prepend(str(folder))
    return {stem: importlib.import_module(stem) for stem in FUNCTIONS}


def plain(fn: object) -> list[tuple[str, object, object]]:
    """A function's parameters as ``(name, kind, default)``: its signature without the annotations."""
    assert callable(fn)
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def seed_functions() -> list[ast.FunctionDef]:
    """The seed's function definitions, in its order (later ones redefine earlier ones)."""
    return [node for node in ast.parse(SEED.read_text()).body if isinstance(node, ast.FunctionDef)]


def part_of_name(name: str) -> str:
    return next((stem for stem, names in FUNCTIONS.items() if name in names), None) or SEED_HELPERS[name]


def check_json(spec: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, str]]:
    """``backproplab check --impl SPEC --json``: its exit status and each check's status by id."""
    capsys.readouterr()
    code = main(["check", "--impl", str(spec), "--json"])
    report = json.loads(capsys.readouterr().out)
    return code, {c["id"]: c["status"] for c in report["checks"]}


def test_init_writes_the_five_starter_files_the_five_notebooks_and_a_readme(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "new" / "exercises"
    assert init(str(folder)) == 0
    assert sorted(p.name for p in folder.iterdir()) == KIT_FILES
    out = capsys.readouterr().out
    assert all(f"wrote {folder / name}" in out for name in KIT_FILES)


def test_init_writes_to_backproplab_exercises_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert init() == 0
    assert sorted(p.name for p in (tmp_path / "backproplab-exercises").iterdir()) == KIT_FILES


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "kit"
    folder.mkdir()
    (folder / "part3_network.py").write_text("my work\n")
    assert init(str(folder)) == 1
    assert str(folder / "part3_network.py") in capsys.readouterr().err
    assert [p.name for p in folder.iterdir()] == ["part3_network.py"]
    assert (folder / "part3_network.py").read_text() == "my work\n"


def test_init_twice_changes_no_file(kit: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (kit / "part1_activations.py").write_text("my work\n")
    before = {p.name: p.read_bytes() for p in kit.iterdir()}
    capsys.readouterr()
    assert init(str(kit)) == 1
    err = capsys.readouterr().err
    assert all(str(kit / name) in err for name in KIT_FILES)
    assert {p.name: p.read_bytes() for p in kit.iterdir()} == before


def test_init_into_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "kit").write_text("")
    assert init(str(tmp_path / "kit")) == 1
    assert "not a folder" in capsys.readouterr().err


def test_init_without_jupytext_says_how_to_install_it_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "jupytext", None)  # import jupytext now fails, as when it is not installed
    assert init(str(tmp_path / "kit")) == 1
    assert "pip install 'backproplab[notebooks]'" in capsys.readouterr().err
    assert not (tmp_path / "kit").exists()


def test_the_readme_gives_the_workflow_with_the_folder_named(kit: Path) -> None:
    readme = (kit / "README.md").read_text()
    assert f"backproplab check --impl {kit}\n" in readme
    assert f"backproplab trace --impl {kit}/part3_network.py\n" in readme
    assert all(f"`{name}`" in readme for name in KIT_FILES if name != "README.md")


def test_the_starter_files_define_exactly_the_agreed_functions(
    kit: Path, monkeypatch: pytest.MonkeyPatch, learner_modules: None
) -> None:
    for stem, module in import_kit(kit, monkeypatch).items():
        defined = [name for name, fn in vars(module).items() if inspect.isfunction(fn) and fn.__module__ == stem]
        assert defined == FUNCTIONS[stem]


def test_every_starter_function_raises_not_implemented_error_naming_itself(
    kit: Path, monkeypatch: pytest.MonkeyPatch, learner_modules: None
) -> None:
    for stem, module in import_kit(kit, monkeypatch).items():
        for name in FUNCTIONS[stem]:
            fn = getattr(module, name)
            required = [p for p in inspect.signature(fn).parameters.values() if p.default is inspect.Parameter.empty]
            with pytest.raises(NotImplementedError, match=rf"write {name}$"):
                fn(*[None] * len(required))
            assert fn.__doc__, f"{name} has no docstring"


def test_every_starter_function_has_the_seeds_signature(
    kit: Path, monkeypatch: pytest.MonkeyPatch, learner_modules: None
) -> None:
    namespace: dict[str, object] = {"np": np}  # the seed's annotations name np
    for node in seed_functions():
        exec(compile(ast.Module([node], []), str(SEED), "exec"), namespace)
    compared = 0
    for stem, module in import_kit(kit, monkeypatch).items():
        for name in FUNCTIONS[stem]:
            if name in namespace:
                assert plain(getattr(module, name)) == plain(namespace[name]), name
                compared += 1
    assert (
        compared == 16
    )  # the seed's: all but tanh, leaky_relu (and derivatives), momentum and the CNN layers but conv2d_out


def test_the_checker_calls_every_starter_function_as_the_starter_file_defines_it(
    kit: Path, monkeypatch: pytest.MonkeyPatch, learner_modules: None
) -> None:
    modules = import_kit(kit, monkeypatch)
    assert sorted(SIGNATURES) == sorted(name for names in FUNCTIONS.values() for name in names)
    for stem, names in FUNCTIONS.items():
        for name in names:
            called = inspect.signature(eval(f"lambda {SIGNATURES[name][1:-1]}: None"))  # the checker's parameters
            ours = plain(getattr(modules[stem], name))
            assert [p[0] for p in ours[: len(called.parameters)]] == list(called.parameters), name


def test_every_check_belongs_to_one_part() -> None:
    assert all(part_of(check) is not None for check in CHECKS), [c.id for c in CHECKS if part_of(c) is None]
    assert sorted(c.id for p in PARTS for c in part_checks(p.number)) == sorted(c.id for c in CHECKS)
    assert "bce" in [c.id for c in part_checks(2)]


def test_a_fresh_kit_is_not_attempted_in_every_check(kit: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, statuses = check_json(kit, capsys)
    assert code != 0
    assert statuses == {c.id: "not attempted" for c in CHECKS}


@pytest.mark.slow
def test_the_seeds_solutions_pasted_into_the_kit_pass_what_the_seeds_file_passes(
    kit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = SEED.read_text()
    for node in seed_functions():
        path = kit / f"{part_of_name(node.name)}.py"
        path.write_text(path.read_text() + "\n\n" + (ast.get_source_segment(source, node) or "") + "\n")
    _, seed_statuses = check_json(SEED, capsys)
    code, statuses = check_json(kit, capsys)
    assert statuses == seed_statuses
    assert code == 0
    assert {"sigmoid", "softmax", "backward", "overfit", "xor", "adam", "conv2d_out"} <= {
        check_id for check_id, status in statuses.items() if status == "pass"
    }


def test_check_part_runs_its_parts_checks_on_the_notebooks_folder(
    kit: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(kit)  # a notebook's kernel runs in the notebook's folder
    results = check_part(4)
    assert [r.id for r in results] == [c.id for c in part_checks(4)]
    assert {r.status for r in results} == {"not attempted"}
    assert "clip_by_norm" in capsys.readouterr().out


def test_check_part_starts_no_checker_inside_the_checker(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(MARK, "a-worker")
    assert check_part(1) == []
    assert "skipped" in capsys.readouterr().out


def test_check_part_refuses_a_part_the_kit_does_not_have() -> None:
    with pytest.raises(ValueError, match="parts 1 to 5"):
        check_part(6)


def test_each_notebook_has_the_cells_of_its_percent_script(kit: Path) -> None:
    jupytext = pytest.importorskip("jupytext")
    nbformat = pytest.importorskip("nbformat")
    for part in PARTS:
        script = (NOTEBOOK_SCRIPTS / f"{part.notebook_stem}.py").read_text()
        assert script == notebook_script(part)  # the package data is the repository's file
        written = nbformat.reads((kit / f"{part.notebook_stem}.ipynb").read_text(), as_version=4)
        nbformat.validate(written)
        expected = jupytext.reads(script, fmt="py:percent")
        assert [(c.cell_type, c.source) for c in written.cells] == [(c.cell_type, c.source) for c in expected.cells]
        assert [c.cell_type for c in written.cells][:2] == ["markdown", "code"]
        assert f"import {part.stem} as mine" in written.cells[1].source
        assert any(f"check_part({part.number})" in c.source for c in written.cells)
        assert (kit / f"{part.notebook_stem}.ipynb").read_text() == to_ipynb(script)  # the same every time


def write_library_kit(folder: Path) -> None:
    for stem, source in LIBRARY_KIT.items():
        (folder / f"{stem}.py").write_text(source.lstrip())


def test_the_pictures_of_a_fresh_kit_name_what_is_not_written_yet(
    kit: Path, monkeypatch: pytest.MonkeyPatch, learner_modules: None
) -> None:
    modules = import_kit(kit, monkeypatch)
    figures = {
        "part1_activations": pictures.activations,
        "part2_dense_softmax": pictures.softmax,
        "part3_network": pictures.xor_boundary,
        "part4_optimizers": pictures.optimizers,
        "part5_cnn": pictures.feature_maps,
    }
    titles = {stem: draw(modules[stem]).get_suptitle() for stem, draw in figures.items()}
    assert "not written yet: sigmoid, sigmoid_deriv, relu, relu_deriv, tanh" in titles["part1_activations"]
    assert "not written yet: softmax" in titles["part2_dense_softmax"]
    assert "not written yet: forward" in titles["part3_network"]
    assert "not written yet: sgd, momentum, adam" in titles["part4_optimizers"]
    assert "not written yet: conv2d_forward" in titles["part5_cnn"]


def test_the_pictures_of_the_library_draw_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, learner_modules: None
) -> None:
    write_library_kit(tmp_path)
    modules = import_kit(tmp_path, monkeypatch)
    figures = [
        pictures.activations(modules["part1_activations"]),
        pictures.softmax(modules["part2_dense_softmax"]),
        pictures.optimizers(modules["part4_optimizers"]),
        pictures.feature_maps(modules["part5_cnn"]),
    ]
    for fig in figures:
        assert "not written" not in fig.get_suptitle()
    activations_fig = figures[0]
    assert len(activations_fig.axes[0].lines) == 4  # the four activations
    assert len(activations_fig.axes[1].lines) == 8  # their derivatives, and num_derivative's dots
    assert [np.shape(line.get_ydata()) for line in figures[2].axes[0].lines[:3]] == [(101,)] * 3  # w_0 .. w_100


def test_gradient_descent_with_the_seeds_network_solves_xor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, learner_modules: None
) -> None:
    source = SEED.read_text()
    seed = "import numpy as np\n\n" + "\n\n".join(ast.get_source_segment(source, n) or "" for n in seed_functions())
    (tmp_path / "seed_network.py").write_text(seed)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "seed_network", raising=False)
    params, losses = pictures.train_xor(importlib.import_module("seed_network"))
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    P, _ = sys.modules["seed_network"].forward(X, *params)
    assert losses[-1] < 0.05 < losses[0]
    assert ((P[:, 0] >= 0.5) == np.array([False, True, True, False])).all()


def test_a_picture_names_a_function_that_returns_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, learner_modules: None
) -> None:
    (tmp_path / "part2_dense_softmax.py").write_text("def softmax(z, axis=-1):\n    z = z - z.max()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TypeError, match="softmax returned None"):
        pictures.softmax(importlib.import_module("part2_dense_softmax"))


@pytest.fixture
def kernel_name(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> str:
    """A Jupyter kernel running this interpreter (the venv's), found before any other kernel on the machine."""
    pytest.importorskip("ipykernel")
    jupyter_path = tmp_path_factory.mktemp("jupyter")
    spec = jupyter_path / "kernels" / "backproplab-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "backproplab test", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core's own paths, without its migration warning
    return "backproplab-test"


def run_notebook(path: Path, kernel_name: str) -> list[Any]:
    """Execute the notebook ``path`` top to bottom in its folder; its code cells' outputs (an error raises)."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name=kernel_name, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]


@pytest.mark.slow
@pytest.mark.parametrize("part", PARTS, ids=lambda p: p.stem)
def test_the_notebook_runs_top_to_bottom_against_the_library(kit: Path, part: Part, kernel_name: str) -> None:
    write_library_kit(kit)
    outputs = run_notebook(kit / f"{part.notebook_stem}.ipynb", kernel_name)
    text = "".join(str(o.get("text", "")) for o in outputs if o.get("output_type") == "stream")
    assert "all attempted checks PASSED" in text
    assert any("image/png" in o.get("data", {}) for o in outputs if o.get("output_type") == "execute_result")


@pytest.mark.slow
def test_a_fresh_kits_notebook_runs_top_to_bottom(kit: Path, kernel_name: str) -> None:
    outputs = run_notebook(kit / "part3_network_notebook.ipynb", kernel_name)
    text = "".join(str(o.get("text", "")) for o in outputs if o.get("output_type") == "stream")
    assert "nothing attempted" in text
    assert any("image/png" in o.get("data", {}) for o in outputs if o.get("output_type") == "execute_result")
