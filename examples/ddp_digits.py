"""Data-parallel training of the digits CNN on 2 (or N) processes, PyTorch style.

Each rank trains a replica of `DigitsNet` (examples/digits_cnn.py) on its share of the
bundled 8x8 digits (DistributedSampler); DistributedDataParallel averages the gradients, so
the replicas stay identical. Every epoch rank 0 prints one line with every rank's progress;
at the end it evaluates, and saves a checkpoint (rank 0 only, the usual idiom).

Run: python3 -m pip install -e ".[examples,distributed]"
     mpiexec -n 2 python3 examples/ddp_digits.py          # or: graphtorch run -n 2 ...
     mpiexec -n 2 python3 examples/ddp_digits.py --compile   # the step through gt.compile
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from digits_cnn import DigitsNet, evaluate, load_digits_tensors

import graphtorch as torch
import graphtorch.distributed as dist
from graphtorch import nn
from graphtorch.nn.parallel import DistributedDataParallel as DDP
from graphtorch.utils.data import DataLoader, TensorDataset
from graphtorch.utils.data.distributed import DistributedSampler


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=16, help="per rank")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--compile", action="store_true", help="compile the training step")
    parser.add_argument("--out", default="digits_out", help="folder for the checkpoint")
    args = parser.parse_args(argv)

    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(rank)  # different initial weights on purpose: DDP copies rank 0's
    x_train, y_train, x_test, y_test = load_digits_tensors()
    train_set = TensorDataset(x_train, y_train)
    sampler = DistributedSampler(train_set, shuffle=True, seed=0)
    loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler)
    model = DDP(DigitsNet())
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    def train_step(images, labels):
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()          # gradients averaged over ranks, overlapping backward
        optimizer.step()
        return loss

    step = torch.compile(train_step) if args.compile else train_step
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)     # the same new shuffle on every rank, split between them
        model.train()
        total, seen = 0.0, 0
        for images, labels in loader:
            total += step(images, labels).item() * len(labels)
            seen += len(labels)
        progress = [None] * world
        dist.all_gather_object(progress, (total / seen, seen))
        if rank == 0:
            ranks = "  ".join(f"rank {r}: loss {loss:.4f} on {n} samples"
                              for r, (loss, n) in enumerate(progress))
            print(f"epoch {epoch}  {ranks}  ({time.perf_counter() - start:.1f}s)", flush=True)
    accuracy = evaluate(model, DataLoader(TensorDataset(x_test, y_test), batch_size=256))
    if rank == 0:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "ddp_digits.pt")
        torch.save({"epoch": args.epochs, "model": model.module.state_dict()}, path)
        print(f"test accuracy {accuracy:.4f} on {world} rank(s); checkpoint in {path}",
              flush=True)
    dist.destroy_process_group()
    return accuracy


if __name__ == "__main__":
    main()
