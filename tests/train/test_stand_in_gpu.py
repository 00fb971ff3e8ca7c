"""Training on a GPU, rehearsed without one: the trainer and the optimizers on device arrays.

``tests/kernels/_fake_cupy.py`` stands in for CuPy (NumPy memory in a class from
module ``cupy`` that, like CuPy, refuses to mix with host arrays), so
``--device cuda`` takes every device code path of the trainer: the model and
each batch moved with ``to('cuda')``, the optimizers' state created on the
device, evaluation, checkpoints written from device arrays and resumed onto the
device. The operators here take their CuPy formulation (``_gpu.serves`` is
switched off: minicnn's CUDA kernels cannot run in this process, which targets
the real GPU; they run under the simulator in
``tests/kernels/test_gpu_dispatch_sim.py``, training steps included).

Tolerances: against the CPU run, whose Numba fast paths (batch norm, ReLU) and
the CuPy formulation round differently in float32 (a few ulps per step), the
losses and parameters after ``n`` steps agree to ``rtol = atol = 1e-4``.
"""
import io

import numpy as np
import pytest

import minicnn
from minicnn import nn, optim
from minicnn.nn.utils import clip_grad_norm_
from minicnn.ops import _gpu
from minicnn.train import TrainConfig, Trainer, evaluate_checkpoint
from tests.kernels import _fake_cupy

from . import _tiny  # noqa: F401  (registers tiny_cnn)

TOL = dict(rtol=1e-4, atol=1e-4)


@pytest.fixture
def stand_in_gpu(monkeypatch):
    _fake_cupy.install(monkeypatch)
    monkeypatch.setattr(_gpu, "serves", lambda *arrays: False)


def _on_device(array):
    return isinstance(array, _fake_cupy.ndarray)


OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda p: optim.Adam(p, lr=1e-2, weight_decay=1e-3, amsgrad=True),
    "adamw": lambda p: optim.AdamW(p, lr=1e-2),
    "rmsprop": lambda p: optim.RMSprop(p, lr=1e-2, momentum=0.9, centered=True),
    "adadelta": lambda p: optim.Adadelta(p, lr=1.0, weight_decay=1e-3),
    "adagrad": lambda p: optim.Adagrad(p, lr=1e-2, lr_decay=1e-3, initial_accumulator_value=0.1),
    "nadam": lambda p: optim.NAdam(p, lr=1e-2, weight_decay=1e-3, decoupled_weight_decay=True),
    "radam": lambda p: optim.RAdam(p, lr=1e-2, weight_decay=1e-3),
}


def _steps(device, make_optimizer, steps=7):
    # 7 steps: RAdam's rectified adaptive step starts at step 6 (rho_t > 5)
    minicnn.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).to(device)
    optimizer = make_optimizer(model.parameters())
    schedule = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    x = minicnn.tensor(np.random.default_rng(1).standard_normal((4, 6)).astype(np.float32))
    for _ in range(steps):
        optimizer.zero_grad()
        (model(x.to(device)) ** 2).sum().backward()
        clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
    return model, optimizer


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizers_update_device_parameters_as_on_the_cpu(stand_in_gpu, name):
    gpu_model, gpu_optimizer = _steps("cuda", OPTIMIZERS[name])
    cpu_model, _ = _steps("cpu", OPTIMIZERS[name])
    for (key, gpu), cpu in zip(gpu_model.state_dict(keep_vars=True).items(),
                               cpu_model.state_dict().values()):
        assert _on_device(gpu.data), f"{key} left the device"
        np.testing.assert_allclose(gpu.data.get(), cpu, **TOL, err_msg=key)
    for state in gpu_optimizer.state.values():
        for key, value in state.items():
            assert not isinstance(value, np.ndarray) or _on_device(value), \
                f"{name} state {key} is on the host"


def test_training_resuming_and_evaluating_on_a_stand_in_gpu(stand_in_gpu, tmp_path):
    """One epoch with --device cuda equals the CPU run; a run interrupted mid-epoch resumes
    on the device to the same end; its checkpoint evaluates on the device and on the CPU."""
    options = dict(model="tiny_cnn", batch_size=64, eval_batch_size=500, epochs=2,
                   optimizer="adamw", lr=3e-3, schedule="onecycle", clip_grad_norm=1.0)
    cpu = Trainer(TrainConfig(**options), out=tmp_path / "cpu", stream=io.StringIO())
    cpu_result = cpu.run()
    gpu = Trainer(TrainConfig(**options, device="cuda"), out=tmp_path / "gpu",
                  stream=io.StringIO())

    def stop_at_step_30(trainer):
        if trainer.step == 30:  # in epoch 2 (22 steps per epoch)
            trainer.stop_requested = True

    gpu.on_step = stop_at_step_30
    interrupted = gpu.run()
    assert interrupted.status == "interrupted"
    assert all(_on_device(p.data) for p in gpu.model.parameters())
    resumed = Trainer(resume=interrupted.checkpoint, stream=io.StringIO())
    result = resumed.run()
    assert result.status == "finished" and resumed.config.device == "cuda"
    for name in ("train_loss", "test_loss", "test_acc"):
        np.testing.assert_allclose([row[name] for row in result.history],
                                   [row[name] for row in cpu_result.history], **TOL,
                                   err_msg=name)
    for (key, gpu_value), cpu_value in zip(resumed.model.state_dict().items(),
                                           cpu.model.state_dict().values()):
        assert type(gpu_value) is np.ndarray, f"state_dict()[{key!r}] is not a host array"
        np.testing.assert_allclose(gpu_value, cpu_value, **TOL, err_msg=key)
    on_gpu = evaluate_checkpoint(result.checkpoint, device="cuda")
    on_cpu = evaluate_checkpoint(result.checkpoint, device="cpu")
    assert on_gpu["accuracy"] == on_cpu["accuracy"]
    np.testing.assert_allclose(on_gpu["loss"], on_cpu["loss"], **TOL)
