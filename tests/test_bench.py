"""The benchmark scripts run and end with one JSON line of their figures (no timing is asserted)."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _figures(script: str, *args: str) -> dict[str, Any]:
    """Run ``bench/script`` with ``args``; the JSON object of its last line (it must exit 0)."""
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "args", "keys"),
    [
        (
            "mlp_vs_torch.py",
            ["--samples", "512", "--repeats", "1"],
            {"samples_per_s", "torch_samples_per_s", "ratio_vs_torch"},
        ),
        (
            "conv_vs_torch.py",
            ["--batch", "8", "--repeats", "1", "--naive-batch", "1"],
            {"images_per_s", "torch_images_per_s", "ratio_vs_torch", "ratio_vs_naive", "peak_extra_mib_10k"},
        ),
        (
            "cnn_train_vs_torch.py",
            ["--repeats", "1", "--steps", "2"],
            {"samples_per_s", "torch_samples_per_s", "ratio_vs_torch", "peak_extra_mib", "grad_max_rel_gap"},
        ),
        ("ddp_launch_stress.py", ["--launches", "1"], {"launches"}),
    ],
)
def test_bench_script_ends_with_a_json_line_of_figures(script: str, args: list[str], keys: set[str]) -> None:
    pytest.importorskip("torch")
    figures = _figures(script, *args)
    assert keys <= figures.keys()
    assert all(figures[k] > 0 for k in keys)


@pytest.mark.slow
def test_playground_bench_reports_a_median_frame_time_per_engine() -> None:
    pytest.importorskip("torch")
    figures = _figures("playground_step.py", "--frames", "20")
    assert set(figures["step_ms_median"]) == {"numpy", "torch"}
    assert all(ms > 0 for ms in figures["step_ms_median"].values())
    assert figures["diagram_ms_median"] > 0


@pytest.mark.slow
def test_playground_fps_bench_reports_frames_steps_and_pause_latency() -> None:
    pytest.importorskip("playwright.sync_api")
    figures = _figures("playground_fps.py", "--seconds", "2")
    assert {"frames_per_s", "median_gap_ms", "steps_per_s", "pause_latency_ms"} <= figures.keys()
    assert figures["frames_per_s"] > 0
    assert figures["steps_per_s"] > 0
    assert figures["pause_latency_ms"] >= 0
