"""End to end against PyTorch: the same CNN, the same weights, the same batches, 20 steps.

Tolerance and why it grows: at step 0 the two losses differ only by float32
rounding in the forward pass (about 1e-7 relative: sums in a different
order). Every update then starts from parameters that differ by a few ulps,
and training amplifies such differences a little at each step, so the
allowed gap grows with the step: |loss_ours - loss_torch| <= 2e-6 * (1 + t)
(measured gaps stay below 1e-6 over 20 steps; a wrong gradient or update
rule shows up at 1e-3 within a few steps). The final parameters agree to
rtol 1e-3 / atol 1e-4: Adam divides each update by sqrt(v), so an element
whose gradient is tiny is moved by its rounding noise (measured: 5e-4 after
20 AdamW steps, 4e-7 after 20 SGD steps). In float64 the same comparison
holds to 1e-10 at every step, which shows the float32 gaps are rounding.
"""
import numpy as np
import pytest
import torch

import minicnn
from minicnn import nn, optim
from minicnn.data import DataLoader, Digits
from minicnn.data import transforms as T
from minicnn.nn import functional as F
from minicnn.nn.utils import clip_grad_norm_
from minicnn.optim import lr_scheduler

STEPS = 20


# No conv bias before a BatchNorm (as in real networks): its exact gradient is zero, so in
# float32 it is pure rounding noise, which Adam normalises into +-lr steps in either engine.
def minicnn_net():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False), nn.BatchNorm2d(16), nn.ReLU6(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32), nn.Hardswish(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.0), nn.Linear(32, 10))


def torch_net():
    t = torch.nn
    return t.Sequential(
        t.Conv2d(1, 16, 3, padding=1, bias=False), t.BatchNorm2d(16), t.ReLU(),
        t.Conv2d(16, 16, 3, padding=1, groups=16, bias=False), t.BatchNorm2d(16), t.ReLU6(),
        t.MaxPool2d(2),
        t.Conv2d(16, 32, 1, bias=False), t.BatchNorm2d(32), t.Hardswish(),
        t.AdaptiveAvgPool2d(1), t.Flatten(), t.Dropout(0.0), t.Linear(32, 10))


def run_both(dtype, make_optimizers, clip=None):
    minicnn.manual_seed(0)
    ours = minicnn_net().to(dtype)
    theirs = torch_net().to(torch.float64 if dtype == np.float64 else torch.float32)
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
    (opt_ours, sched_ours), (opt_theirs, sched_theirs) = make_optimizers(ours, theirs)
    data = Digits(train=True)
    data.transform = T.Compose([T.RandomCrop(8, padding=1), T.ToFloat(16),
                                T.Normalize(data.mean, data.std)])
    loader = DataLoader(data, batch_size=32, shuffle=True, generator=0)
    losses = []
    for step, (images, labels) in enumerate(loader):
        if step == STEPS:
            break
        images = images.to(dtype)
        loss = F.cross_entropy(ours(images), labels)
        opt_ours.zero_grad()
        loss.backward()
        t_loss = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(images.numpy().copy())),
                                                   torch.from_numpy(labels.numpy().copy()))
        opt_theirs.zero_grad()
        t_loss.backward()
        if clip is not None:
            clip_grad_norm_(ours.parameters(), clip)
            torch.nn.utils.clip_grad_norm_(theirs.parameters(), clip)
        for opt, sched in ((opt_ours, sched_ours), (opt_theirs, sched_theirs)):
            opt.step()
            sched.step()
        losses.append((loss.item(), t_loss.item()))
    final = {k: (v, theirs.state_dict()[k].numpy()) for k, v in ours.state_dict().items()}
    return np.array(losses), final


def sgd_onecycle(ours, theirs):
    kw = dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    a, b = optim.SGD(ours.parameters(), **kw), torch.optim.SGD(theirs.parameters(), **kw)
    return ((a, lr_scheduler.OneCycleLR(a, max_lr=0.2, total_steps=STEPS)),
            (b, torch.optim.lr_scheduler.OneCycleLR(b, max_lr=0.2, total_steps=STEPS)))


def adamw_cosine(ours, theirs):
    a = optim.AdamW(ours.parameters(), lr=3e-3, weight_decay=0.05, amsgrad=True)
    b = torch.optim.AdamW(theirs.parameters(), lr=3e-3, weight_decay=0.05, amsgrad=True)
    return ((a, lr_scheduler.CosineAnnealingLR(a, T_max=STEPS)),
            (b, torch.optim.lr_scheduler.CosineAnnealingLR(b, T_max=STEPS)))


@pytest.mark.parametrize("make, clip", [(sgd_onecycle, None), (adamw_cosine, 1.0)])
def test_twenty_steps_match_pytorch_in_float32(make, clip):
    losses, final = run_both(np.float32, make, clip)
    steps = np.arange(STEPS)
    gap = np.abs(losses[:, 0] - losses[:, 1])
    assert np.all(gap <= 2e-6 * (1 + steps)), gap
    assert losses[-1, 0] < losses[0, 0]  # and it learns
    for key, (mine, theirs) in final.items():
        np.testing.assert_allclose(mine, theirs, rtol=1e-3, atol=1e-4, err_msg=key)


def test_twenty_steps_match_pytorch_in_float64():
    losses, final = run_both(np.float64, sgd_onecycle)
    np.testing.assert_allclose(losses[:, 0], losses[:, 1], rtol=0, atol=1e-10)
    for key, (mine, theirs) in final.items():
        np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-10, err_msg=key)
