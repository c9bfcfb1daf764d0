"""How torchrun ranks pick their device and process group on CUDA, tested without a GPU.

CI has no GPU, so these tests stand in for the CUDA calls (recorded, not run); the real thing was
checked once on an H200 (docs/benchmarks.md): nccl for CUDA tensors, gloo for the CPU flags.
"""

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import torch
else:
    torch = pytest.importorskip("torch")

from backproplab.training.distributed import World, init_world, rank_device


def _torchrun_env(monkeypatch: pytest.MonkeyPatch, rank: int, size: int, per_node: int) -> None:
    for name, value in {
        "RANK": rank,
        "WORLD_SIZE": size,
        "LOCAL_RANK": rank % per_node,
        "LOCAL_WORLD_SIZE": per_node,
    }.items():
        monkeypatch.setenv(name, str(value))


def _record_cuda(monkeypatch: pytest.MonkeyPatch, gpus: int) -> dict[str, Any]:
    calls: dict[str, Any] = {}
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(torch.cuda, "set_device", lambda index: calls.setdefault("set_device", index))
    monkeypatch.setattr(torch.distributed, "init_process_group", lambda backend: calls.setdefault("backend", backend))
    return calls


def test_each_cuda_rank_takes_its_own_gpu_and_cpu_tensors_go_through_gloo(monkeypatch: pytest.MonkeyPatch) -> None:
    _torchrun_env(monkeypatch, rank=3, size=4, per_node=2)  # second rank of the second machine
    calls = _record_cuda(monkeypatch, gpus=2)
    world = init_world(torch.device("cuda"))
    assert world == World(rank=3, size=4, local_rank=1)
    assert calls == {"set_device": 1, "backend": "cpu:gloo,cuda:nccl"}
    assert rank_device(torch.device("cuda"), world) == torch.device("cuda", 1)


def test_more_ranks_than_gpus_on_a_machine_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _torchrun_env(monkeypatch, rank=0, size=2, per_node=2)
    calls = _record_cuda(monkeypatch, gpus=1)
    with pytest.raises(ValueError, match=r"started 2 processes on this machine but it has 1 CUDA device\(s\)"):
        init_world(torch.device("cuda"))
    assert calls == {}  # refused before touching a GPU or a process group


def test_cpu_ranks_use_gloo_and_keep_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    _torchrun_env(monkeypatch, rank=1, size=2, per_node=2)
    calls = _record_cuda(monkeypatch, gpus=0)
    world = init_world(torch.device("cpu"))
    assert calls == {"backend": "gloo"}
    assert rank_device(torch.device("cpu"), world) == torch.device("cpu")


def test_a_single_process_joins_no_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    calls = _record_cuda(monkeypatch, gpus=1)
    world = init_world(torch.device("cuda"))
    assert (world, calls) == (World(), {})
    assert rank_device(torch.device("cuda"), world) == torch.device("cuda")
