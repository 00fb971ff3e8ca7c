"""Learning-rate schedules against torch.optim.lr_scheduler.

The schedules are computed in Python floats (float64) by the same recursions
as PyTorch's, so the learning rates (and OneCycleLR's momenta) must agree
*exactly*, step for step; parameter trajectories under a schedule then agree
within the float32 optimizer tolerance of test_optimizers.py.
"""
import copy
import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minicnn import optim
from minicnn.nn import Parameter
from minicnn.optim import lr_scheduler as ours_sched
from torch.optim import lr_scheduler as torch_sched

from .test_optimizers import make_pair, run_both

STEPS = 50


def optimizers(kind="sgd", groups=2):
    ours, theirs = make_pair(0)
    lrs = [0.1, 0.02, 0.5][:groups]
    og = [{"params": ours[i::groups], "lr": lrs[i]} for i in range(groups)]
    tg = [{"params": theirs[i::groups], "lr": lrs[i]} for i in range(groups)]
    if kind == "sgd":
        return optim.SGD(og, lr=0.1, momentum=0.9), torch.optim.SGD(tg, lr=0.1, momentum=0.9)
    return optim.Adam(og, lr=0.1), torch.optim.Adam(tg, lr=0.1)


def build(name, module, opt, **kw):
    """One scheduler configuration, built from ``module`` (ours or torch's)."""
    if name == "step":
        return module.StepLR(opt, step_size=kw.get("step_size", 7), gamma=kw.get("gamma", 0.5))
    if name == "multistep":
        return module.MultiStepLR(opt, milestones=[5, 12, 12, 30], gamma=kw.get("gamma", 0.3))
    if name == "constant":
        return module.ConstantLR(opt, factor=0.25, total_iters=kw.get("step_size", 7))
    if name == "linear":
        return module.LinearLR(opt, start_factor=0.1, end_factor=kw.get("end", 1.0),
                               total_iters=kw.get("step_size", 7))
    if name == "cosine":
        return module.CosineAnnealingLR(opt, T_max=kw.get("t_max", 20), eta_min=kw.get("eta", 0.0))
    if name == "onecycle":
        return module.OneCycleLR(opt, max_lr=[1.0, 0.3], total_steps=STEPS + 1,
                                 pct_start=kw.get("pct", 0.3), anneal_strategy=kw.get("anneal", "cos"),
                                 three_phase=kw.get("three_phase", False))
    if name == "warmup_cosine":
        warm = kw.get("step_size", 7)
        return module.SequentialLR(opt, [module.LinearLR(opt, start_factor=0.01, total_iters=warm),
                                         module.CosineAnnealingLR(opt, T_max=STEPS - warm)],
                                   milestones=[warm])
    raise AssertionError(name)


def trace(scheduler, opt, steps=STEPS):
    """The lr (and momentum / beta1) of every group after creation and after each step."""
    def snapshot():
        return [(g["lr"], g.get("momentum"), tuple(g["betas"]) if "betas" in g else None)
                for g in opt.param_groups]
    values = [snapshot()]
    for _ in range(steps):
        opt.step()
        scheduler.step()
        values.append(snapshot())
    return values


NAMES = ["step", "multistep", "constant", "linear", "cosine", "onecycle", "warmup_cosine"]


@given(name=st.sampled_from(NAMES), kind=st.sampled_from(["sgd", "adam"]),
       step_size=st.integers(1, 12), gamma=st.sampled_from([0.1, 0.5, 0.9]),
       t_max=st.integers(3, 30), eta=st.sampled_from([0.0, 1e-3]),
       anneal=st.sampled_from(["cos", "linear"]), three_phase=st.booleans(),
       pct=st.sampled_from([0.1, 0.3, 0.5]))
def test_schedules_match_torch_exactly(name, kind, step_size, gamma, t_max, eta, anneal,
                                       three_phase, pct):
    kw = dict(step_size=step_size, gamma=gamma, t_max=t_max, eta=eta, anneal=anneal,
              three_phase=three_phase, pct=pct)
    ours_opt, torch_opt = optimizers(kind)
    ours = build(name, ours_sched, ours_opt, **kw)
    theirs = build(name, torch_sched, torch_opt, **kw)
    assert trace(ours, ours_opt) == trace(theirs, torch_opt)
    assert ours.get_last_lr() == theirs.get_last_lr()


@pytest.mark.parametrize("name", NAMES)
def test_parameter_trajectories_under_a_schedule_match_torch(name):
    def ours(opt):
        return build(name, ours_sched, opt)

    def theirs(opt):
        return build(name, torch_sched, opt)

    momentum = dict(momentum=0.9)
    run_both(optim.SGD, torch.optim.SGD, dict(lr=0.1, **momentum), scheduler=(ours, theirs),
             group_options=[dict(lr=0.1), dict(lr=0.05)])


def test_closed_forms_equal_the_recursions():
    """The formulas in the module docstring are what the recursions produce."""
    for name in ["step", "multistep", "linear", "cosine", "constant"]:
        opt, _ = optimizers("sgd", groups=1)
        scheduler = build(name, ours_sched, opt)
        for _ in range(40):
            opt.step()
            scheduler.step()
            recursive = scheduler.get_last_lr()
            closed = scheduler._get_closed_form_lr()
            np.testing.assert_allclose(recursive, closed, rtol=1e-12, err_msg=name)
    # and against the formulas written out independently
    opt, _ = optimizers("sgd", groups=1)
    cosine = ours_sched.CosineAnnealingLR(opt, T_max=10, eta_min=0.01)
    for t in range(1, 11):
        opt.step()
        cosine.step()
        expected = 0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * t / 10)) / 2
        assert cosine.get_last_lr()[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_resume_continues_exactly_and_is_json_friendly(name):
    opt, _ = optimizers("sgd")
    scheduler = build(name, ours_sched, opt)
    first = trace(scheduler, opt, steps=20)
    saved_sched = copy.deepcopy(scheduler.state_dict())
    saved_opt = copy.deepcopy(opt.state_dict())
    rest = trace(scheduler, opt, steps=STEPS - 20)

    opt2, _ = optimizers("sgd")
    scheduler2 = build(name, ours_sched, opt2)
    opt2.load_state_dict(saved_opt)
    scheduler2.load_state_dict(saved_sched)
    assert trace(scheduler2, opt2, steps=STEPS - 20) == rest
    assert first[-1] == rest[0]
    # Only plain values (Counter aside, a dict) besides the optimizer: checkpointable as JSON.
    state = scheduler.state_dict()
    state.pop("milestones", None)
    json.dumps(state)


def test_onecycle_steps_past_total_raise():
    opt, _ = optimizers("sgd", groups=1)
    scheduler = ours_sched.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        scheduler.step()
    with pytest.raises(ValueError, match="total steps is 3"):
        scheduler.step()


def test_onecycle_cycles_adam_beta1():
    opt, _ = optimizers("adam", groups=1)
    scheduler = ours_sched.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    betas = []
    for _ in range(9):
        opt.step()
        scheduler.step()
        betas.append(opt.param_groups[0]["betas"][0])
    assert min(betas) == pytest.approx(0.85) and betas[-1] == pytest.approx(0.95)


@pytest.mark.parametrize("make, error, match", [
    (lambda o: ours_sched.StepLR(o, step_size=0), ValueError, "step_size"),
    (lambda o: ours_sched.MultiStepLR(o, milestones=[3, -1]), ValueError, "milestones"),
    (lambda o: ours_sched.LinearLR(o, start_factor=0.0), ValueError, "start_factor"),
    (lambda o: ours_sched.LinearLR(o, end_factor=1.5), ValueError, "end_factor"),
    (lambda o: ours_sched.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
    (lambda o: ours_sched.OneCycleLR(o, max_lr=0.1), ValueError, "total_steps"),
    (lambda o: ours_sched.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5), ValueError,
     "pct_start"),
    (lambda o: ours_sched.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
     ValueError, "anneal_strategy"),
    (lambda o: ours_sched.OneCycleLR(o, max_lr=[0.1, 0.2, 0.3], total_steps=10), ValueError,
     "max_lr"),
    (lambda o: ours_sched.SequentialLR(o, [ours_sched.StepLR(o, 2)], milestones=[3]), ValueError,
     "milestone"),
    (lambda o: ours_sched.StepLR("not an optimizer", 2), TypeError, "not an Optimizer"),
])
def test_invalid_schedule_arguments(make, error, match):
    opt, _ = optimizers("sgd")
    before = [g["lr"] for g in opt.param_groups]
    with pytest.raises(error, match=match):
        make(opt)
    assert [g["lr"] for g in opt.param_groups] == before


def test_onecycle_needs_momentum_when_cycling():
    params = [Parameter(np.zeros(3, np.float32))]
    opt = optim.RMSprop(params, lr=0.1)
    opt.defaults.pop("momentum")
    with pytest.raises(ValueError, match="momentum"):
        ours_sched.OneCycleLR(opt, max_lr=0.1, total_steps=5)
