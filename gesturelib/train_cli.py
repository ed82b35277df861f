"""``python -m gesturelib.train_cli``: train any model kind and preset on a prepared dataset.

    python -m gesturelib.train_cli --kind joint --preset course --data DATASET_DIR --out runs/joint

``--data`` is a dataset folder that ``gesturelib.data.GestureClips`` reads
(its ``train`` and ``validation`` splits; ``test`` too when present). ``--out``
receives ``checkpoint.pt`` (after every epoch; running the same command again
resumes it), and at the end ``model.pt`` (the best epoch's weights),
``history.json`` and ``metrics.json``.

The same command runs data-parallel on several processes, GPUs or machines::

    torchrun --nproc_per_node=4 -m gesturelib.train_cli --kind joint --preset paper --data ... --out ...

(DistributedDataParallel, NCCL on GPUs, gloo on CPUs; rank 0 writes the files.)
``--synthetic N`` replaces the dataset with N random clips of the preset's
size: a smoke test of the whole pipeline (it learns nothing).
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import torch
from torch.utils.data import Dataset, TensorDataset

from . import models
from .runtime import seed_everything
from .files import save_torch, write_json
from .train import TrainConfig, default_device, evaluate, fit, save_history


def synthetic_dataset(size: int, preset: str, seed: int = 0) -> TensorDataset:
    """``size`` random clips of ``preset``'s shape in [0, 1] with random labels (smoke tests only)."""
    generator = torch.Generator().manual_seed(seed)
    clips = torch.rand(size, *models.input_shape(preset), generator=generator)
    labels = torch.randint(0, models.NUM_CLASSES, (size,), generator=generator)
    return TensorDataset(clips, labels)


def _datasets(args: argparse.Namespace) -> dict[str, Dataset]:
    if args.synthetic:
        return {"train": synthetic_dataset(args.synthetic, args.preset, seed=1),
                "validation": synthetic_dataset(max(1, args.synthetic // 2), args.preset, seed=2)}
    from . import clipcache, data# imported here: the smoke test must not need prepared clips

    available = clipcache.prepare(args.data, args.preset)
    for split in ("train", "validation"):
        if split not in available:
            raise ValueError(f"{args.data}: no {split!r} split to train with; splits: {sorted(available)}")
    transform = data.poster_augmentation(args.preset) if args.augment else None
    return {split: data.GestureClips(args.data, split, args.preset,
                                     transform=transform if split == "train" else None)
            for split in ("train", "validation", "test") if split in available}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="python -m gesturelib.train_cli", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--kind", choices=models.KINDS, required=True)
    parser.add_argument("--preset", choices=models.PRESETS, default="course")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="dataset folder (read by gesturelib.data.GestureClips)")
    source.add_argument("--synthetic", type=int, metavar="N",
                        help="smoke-test mode: N random clips instead of a dataset")
    parser.add_argument("--out", type=Path, required=True, help="output folder (checkpoint, model, metrics)")
    parser.add_argument("--no-augment", dest="augment", action="store_false",
                        help="train without gesturelib.data.poster_augmentation")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default=defaults.optimizer)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--momentum", type=float, default=defaults.momentum)
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--schedule", choices=("cosine", "onecycle", "constant"), default=defaults.schedule)
    parser.add_argument("--patience", type=int, default=defaults.patience)
    parser.add_argument("--monitor", choices=("val_acc", "val_loss"), default=defaults.monitor)
    parser.add_argument("--grad-clip", type=float, default=defaults.grad_clip)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--amp", choices=("bf16", "fp16"), default=None, help="mixed precision")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per process")
    parser.add_argument("--workers", type=int, default=defaults.num_workers, help="DataLoader workers")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    """Run the command; returns the metrics it writes to ``metrics.json`` (on rank 0)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    distributed = int(os.environ.get("WORLD_SIZE", 1)) > 1
    if distributed:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if torch.cuda.is_available():
            torch.cuda.set_device(default_device())
        torch.distributed.init_process_group(backend)
    rank = torch.distributed.get_rank() if distributed else 0
    try:
        config = TrainConfig(
            epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
            momentum=args.momentum, weight_decay=args.weight_decay, schedule=args.schedule,
            patience=args.patience, monitor=args.monitor, grad_clip=args.grad_clip, seed=args.seed,
            amp=args.amp, num_threads=args.threads, num_workers=args.workers)
        if rank == 0:  # rank 0 prepares the clip cache while the others wait
            splits = _datasets(args)
        if distributed:
            torch.distributed.barrier()
        if rank != 0:
            splits = _datasets(args)
        seed_everything(config.seed)
        model = models.build(args.kind, args.preset)
        history = fit(model, splits["train"], splits["validation"], config, checkpoint_dir=args.out,
                      progress=rank == 0 and not args.quiet)
        metrics: dict = {}
        if rank == 0:
            metrics = {"kind": args.kind, "preset": args.preset, "params": models.count_params(model),
                       "processes": int(os.environ.get("WORLD_SIZE", 1)), "device": str(default_device()),
                       "config": config.to_dict(), "best_epoch": history.best_epoch,
                       "seconds_per_epoch": sum(history.seconds) / len(history.seconds),
                       **{split: evaluate(model, dataset, config.eval_batch_size)
                          for split, dataset in splits.items() if split != "train"}}
            save_torch(model.state_dict(), args.out / "model.pt")
            save_history(history, args.out / "history.json")
            write_json(args.out / "metrics.json", metrics)
            logging.getLogger(__name__).info("wrote %s: %s", args.out, {
                split: round(metrics[split]["accuracy"], 4) for split in splits if split != "train"})
        return metrics
    finally:
        if distributed:
            torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
