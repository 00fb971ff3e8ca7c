"""Training does not accumulate memory: every step's graph is released.

The 1,000-step measurement with the default model is in
``benchmarks/train_digits.py --memory``; this is the short version for the suite.
"""
import gc
import io
import tracemalloc

from minicnn.train import TrainConfig, Trainer

from . import _tiny  # noqa: F401


def traced_mib() -> float:
    """Memory held by live Python and NumPy allocations (NumPy reports its buffers to
    tracemalloc), in MiB: no allocator or page-cache noise, on any OS."""
    return tracemalloc.get_traced_memory()[0] / 2 ** 20


def test_no_growth_over_a_long_epoch(tmp_path):
    """180 steps in one epoch (batch 8): after the first 20 steps (allocator warm-up, first
    calls of each kernel), the number of live Python objects stays put (within a few objects
    of unrelated noise; a tensor kept per step would add 159) and traced memory grows by less
    than 1 MiB (a leaked graph would hold about 100 KiB of activations per step, 16 MiB here)."""
    resident, objects = {}, {}

    def record(trainer):
        if trainer.step in (20, 100, 179):
            gc.collect()
            objects[trainer.step] = len(gc.get_objects())
            resident[trainer.step] = traced_mib()

    trainer = Trainer(TrainConfig(model="tiny_cnn", epochs=1, batch_size=8), out=tmp_path / "run",
                      stream=io.StringIO())
    trainer.on_step = record
    tracemalloc.start()
    try:
        trainer.run()
    finally:
        tracemalloc.stop()
    assert max(objects.values()) - min(objects.values()) < 20, objects
    assert resident[179] - resident[20] < 1.0, resident
