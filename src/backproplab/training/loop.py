"""Train a CNN with PyTorch, from data to checkpoint: ``train(config)``.

Reproducibility by construction: batch order, augmentation and dropout of epoch ``e``, batch ``b``
are drawn from generators seeded with ``(seed, e, b)``, so a run resumed at any batch is the run
that was never stopped. Ctrl-C (SIGINT) finishes the current batch, saves a checkpoint that
points at the next one, and exits; ``--resume`` continues from there.
"""

import hashlib
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler, TensorDataset
from tqdm import tqdm

from backproplab.data.images import ImageDataset, load_dataset
from backproplab.fit import NonFiniteGradientError
from backproplab.training import common
from backproplab.training.checkpoint import load_checkpoint, save_checkpoint
from backproplab.training.config import TrainConfig, preset_spec
from backproplab.training.distributed import (
    World,
    any_rank,
    close_world,
    init_world,
    mean_over_ranks,
    rank_device,
)
from backproplab.training.models import build_model


@dataclass
class TrainResult:
    """What a finished (or interrupted) run leaves: the model in eval mode, its data, its history."""

    model: nn.Module
    spec: str
    data: ImageDataset
    history: list[dict[str, Any]] = field(default_factory=list)
    world: World = field(default_factory=World)

    @property
    def test_accuracy(self) -> float:
        return float(self.history[-1]["test_acc"]) if self.history else float("nan")


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available here; use --device cpu or auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("--device mps: no Apple GPU is available here; use --device cpu or auto")
    return torch.device(name)


def shift_augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Shift each image ``(B, C, H, W)`` by up to ``H // 14`` pixels each way (2 for 28x28, at least 1),
    filling with zeros."""
    b, _, h, w = x.shape
    max_shift = max(1, h // 14)
    padded = nn.functional.pad(x, (max_shift,) * 4)
    dy, dx = (torch.randint(0, 2 * max_shift + 1, (b,), generator=g) for _ in range(2))
    rows = (torch.arange(h)[None, :] + dy[:, None]).to(x.device)  # (B, H)
    cols = (torch.arange(w)[None, :] + dx[:, None]).to(x.device)  # (B, W)
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def epoch_order(n: int, config: TrainConfig, epoch: int, world: World) -> list[int]:
    """This rank's sample indices for ``epoch``: DistributedSampler's split of one seeded permutation."""
    sampler: DistributedSampler[Any] = DistributedSampler(
        TensorDataset(torch.empty(n)), num_replicas=world.size, rank=world.rank, shuffle=True, seed=config.seed
    )
    sampler.set_epoch(epoch)
    return list(sampler)


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = model.parameters()
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=0.9, nesterov=True, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


Schedule = torch.optim.lr_scheduler.LRScheduler


def make_schedule(opt: torch.optim.Optimizer, config: TrainConfig, total_steps: int) -> Schedule:
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=total_steps, pct_start=0.25)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)


def rebuilt_schedule(opt: torch.optim.Optimizer, config: TrainConfig, total_steps: int, step: int) -> Schedule:
    """The schedule over ``total_steps`` advanced to ``step``, for a run resumed with another ``--epochs``.

    A scheduler's saved state keeps its old total (OneCycleLR refuses to step past it), so a new one
    is built and stepped from the peak lr: the lr (and one-cycle momentum) at ``step`` of the new
    curve, as :func:`backproplab.schedules.make_schedule` gives it. It is not the run that always had
    the new total: the steps before ``step`` followed the old curve.
    """
    for group in opt.param_groups:  # the loaded lr is the old curve's; the cosine schedule starts from it
        group["lr"] = config.lr
    schedule = make_schedule(opt, config, total_steps)
    with warnings.catch_warnings():  # no optimizer step comes between these: that is the point
        warnings.filterwarnings("ignore", "Detected call of `lr_scheduler", UserWarning)
        for _ in range(step):
            schedule.step()
    return schedule


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1024) -> tuple[float, float]:
    """``(mean cross-entropy, accuracy)`` of ``model`` in eval mode."""
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(x), batch):
        logits = model(x[i : i + batch])
        loss += float(nn.functional.cross_entropy(logits, y[i : i + batch], reduction="sum"))
        correct += int((logits.argmax(1) == y[i : i + batch]).sum())
    return loss / len(x), correct / len(x)


def training_state(model: nn.Module, opt: torch.optim.Optimizer, schedule: Schedule) -> dict[str, Any]:
    return {"model": model.state_dict(), "optimizer": opt.state_dict(), "schedule": schedule.state_dict()}


def train_step(
    net: nn.Module, opt: torch.optim.Optimizer, schedule: Schedule, loss_fn: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> tuple[float, int]:
    """One optimisation step on the batch ``x: (B, C, H, W)``, ``y: (B,)``: ``(mean loss, correct count)``.

    Non-finite gradients raise :class:`~backproplab.fit.NonFiniteGradientError` before the update."""
    net.train()
    logits = net(x)
    loss = loss_fn(logits, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if torch.isfinite(loss):  # a non-finite loss is the caller's to report, as itself
        norm = float(torch.nn.utils.get_total_norm([p.grad for p in net.parameters() if p.grad is not None]))
        if not math.isfinite(norm):
            raise NonFiniteGradientError(norm)
    opt.step()
    schedule.step()
    return float(loss.detach()), int((logits.argmax(1) == y).sum())


def weights_digest(model: nn.Module) -> str:
    """SHA-256 of every parameter and buffer, in state-dict order: equal digests, identical weights."""
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def train(config: TrainConfig) -> TrainResult:
    """Run training as configured; raises :class:`TrainingInterruptedError` after saving on SIGINT."""
    device = pick_device(config.device)
    if config.deterministic:
        torch.use_deterministic_algorithms(True)
    world = init_world(device)
    device = rank_device(device, world)
    threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        # _train's frame, with the DDP wrapper and the optimizer, is gone before close_world runs:
        # 2-process gloo runs abort at exit now and then when they outlive the process group
        return _train(config, device, world)
    finally:
        torch.set_num_threads(threads)
        close_world(world)


def _train(config: TrainConfig, device: torch.device, world: World) -> TrainResult:
    data = load_dataset(config.dataset, data_dir=config.data_dir, download=config.download)
    input_shape = tuple(data.x_train.shape[1:])
    spec = preset_spec(config.preset, len(data.classes))
    torch.manual_seed(config.seed)  # the same initial weights on every rank
    model = build_model(spec, input_shape).to(device)
    x_train, y_train = torch.from_numpy(data.x_train).to(device), torch.from_numpy(data.y_train).to(device)
    x_test, y_test = torch.from_numpy(data.x_test).to(device), torch.from_numpy(data.y_test).to(device)
    if config.batch_size % world.size:
        raise ValueError(f"--batch-size {config.batch_size} must divide evenly among {world.size} processes")
    local_batch = config.batch_size // world.size
    steps_per_epoch = -(-len(epoch_order(len(x_train), config, 0, world)) // local_batch)
    opt = make_optimizer(model, config)
    schedule = make_schedule(opt, config, config.epochs * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    history: list[dict[str, Any]] = []
    start_epoch, start_batch, partial = 0, 0, (0.0, 0, 0)
    checkpoint_path = config.out / "checkpoint.pt"
    if config.resume:
        state = load_checkpoint(checkpoint_path, spec, input_shape)
        common.check_resume(state, config)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start_epoch, start_batch, history = state["epoch"], state["batch"], list(state["history"])
        note = common.resume_note(state, config, steps_per_epoch)
        if note is None:
            schedule.load_state_dict(state["schedule"])
        else:
            step = start_epoch * steps_per_epoch + start_batch
            schedule = rebuilt_schedule(opt, config, config.epochs * steps_per_epoch, step)
            if world.main:
                print(note, flush=True)
        partial = (float(state["partial"][0]), int(state["partial"][1]), int(state["partial"][2]))
    if world.main:
        common.open_run_folder(config, history)
    net: nn.Module = model
    if world.distributed:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def checkpoint(epoch: int, batch: int, partial: tuple[float, int, int] = (0.0, 0, 0)) -> None:
        """Save where training stands: the next (epoch, batch) and the sums of the epoch so far."""
        if world.main:
            where = {"epoch": epoch, "batch": batch, "partial": list(partial), "history": history}
            where |= {"spec": spec, "input_shape": list(input_shape)}
            save_checkpoint(
                checkpoint_path, {**training_state(model, opt, schedule), **where, "config": config.to_dict()}
            )

    with common.sigint_flag() as stop:
        for epoch in range(start_epoch, config.epochs):
            order = torch.tensor(epoch_order(len(x_train), config, epoch, world), device=device)
            first = start_batch if epoch == start_epoch else 0
            loss_sum, correct, seen = partial if epoch == start_epoch else (0.0, 0, 0)
            started = time.perf_counter()
            bar = tqdm(
                range(first, steps_per_epoch),
                desc=f"epoch {epoch + 1}/{config.epochs}",
                leave=False,
                disable=not (config.verbose and world.main and sys.stderr.isatty()),
            )
            for batch in bar:
                if any_rank(world, stop[0]):
                    checkpoint(epoch, batch, (loss_sum, correct, seen))
                    raise common.TrainingInterruptedError(
                        f"interrupted at epoch {epoch + 1}, batch {batch}; saved {checkpoint_path}"
                    )
                torch.manual_seed(common.seed_of(config.seed, epoch, batch, world.rank))  # dropout of this batch
                idx = order[batch * local_batch : (batch + 1) * local_batch]
                xb, yb = x_train[idx], y_train[idx]
                if config.augment:
                    xb = shift_augment(
                        xb, torch.Generator().manual_seed(common.seed_of(config.seed, epoch, batch, world.rank, 1))
                    )
                lr = float(schedule.get_last_lr()[0])
                try:
                    batch_loss, batch_correct = train_step(net, opt, schedule, loss_fn, xb, yb)
                except NonFiniteGradientError as e:  # DDP averaged the gradients: every rank sees it
                    raise common.diverged(e.norm, epoch, batch, lr, checkpoint_path, "gradient norm") from e
                if any_rank(world, not math.isfinite(batch_loss)):  # stop before anything of it is written
                    raise common.diverged(batch_loss, epoch, batch, lr, checkpoint_path)
                loss_sum += batch_loss * len(yb)
                correct += batch_correct
                seen += len(yb)
            train_seconds = time.perf_counter() - started
            test_loss, test_acc = evaluate(model, x_test, y_test)
            history.append(
                {
                    "epoch": epoch + 1,
                    "train_loss": mean_over_ranks(world, loss_sum / max(seen, 1)),
                    "train_acc": mean_over_ranks(world, correct / max(seen, 1)),
                    "test_loss": test_loss,
                    "test_acc": test_acc,
                    "lr": schedule.get_last_lr()[0],
                    "seconds": train_seconds,  # training only (evaluation below)
                    "eval_seconds": time.perf_counter() - started - train_seconds,
                }
            )
            checkpoint(epoch + 1, 0)  # the checkpoint first: metrics.jsonl never runs ahead of it
            if world.main:
                common.log_epoch(history, config)
    if world.distributed:  # printed, not written: only rank 0 writes files
        print(f"rank {world.rank}/{world.size}: final weights sha256 {weights_digest(model)}", flush=True)
    model.eval()
    return TrainResult(model, spec, data, history, world)
