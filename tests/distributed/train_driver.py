"""``minicnn train`` (the CLI) with the tiny test models, and a fault for the tests to inject.

``python train_driver.py [FAULT] -- train ARGS...``, run by mpiexec from test_mpi_train.py.
FAULT is ``sigint@STEP`` or ``sigterm@STEP`` (rank 1 alone receives the signal after step
STEP, as if a Ctrl-C or a kill reached only it) or ``raise@STEP`` (rank 1 dies of an
exception after step STEP).
"""
import os
import signal
import sys

import tests.train._tiny  # noqa: F401  (registers tiny_cnn)
from minicnn import distributed
from minicnn.cli import main
from minicnn.train import Trainer


def install(fault):
    kind, step = fault.split("@")
    run = Trainer.run

    def on_step(trainer):
        if trainer.step == int(step) and distributed.get_rank() == 1:
            if kind in ("sigint", "sigterm"):
                os.kill(os.getpid(), signal.SIGINT if kind == "sigint" else signal.SIGTERM)
            else:
                raise RuntimeError(f"injected failure at step {step}")

    def run_with_fault(self, *args, **kwargs):
        self.on_step = on_step
        return run(self, *args, **kwargs)

    Trainer.run = run_with_fault


if __name__ == "__main__":
    split = sys.argv.index("--")
    if split == 2:
        install(sys.argv[1])
    sys.exit(main(sys.argv[split + 1:]))
