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
# torch warns "lr_scheduler.step() before optimizer.step()" for the schedulers inside a
# ChainedScheduler inside a SequentialLR (its check counts their steps, not the optimizer's);
# the order here is the right one.
pytestmark = pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`")


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
    if name == "exponential":
        return module.ExponentialLR(opt, gamma=kw.get("gamma", 0.9))
    if name == "polynomial":
        return module.PolynomialLR(opt, total_iters=kw.get("t_max", 20),
                                   power=kw.get("power", 1.0))
    if name == "lambda":  # one function per group (optimizers() has two groups)
        return module.LambdaLR(opt, lr_lambda=[lambda t: 1 / (1 + 0.1 * t),
                                               _Warmup(kw.get("step_size", 7))])
    if name == "multiplicative":
        every = kw.get("step_size", 7)
        return module.MultiplicativeLR(opt, lr_lambda=lambda t: 0.5 if t % every == 0 else 0.98)
    if name == "warm_restarts":
        return module.CosineAnnealingWarmRestarts(opt, T_0=kw.get("step_size", 7),
                                                  T_mult=kw.get("t_mult", 2),
                                                  eta_min=kw.get("eta", 0.0))
    if name == "chained":
        return module.ChainedScheduler(
            [module.ConstantLR(opt, factor=0.5, total_iters=kw.get("step_size", 7)),
             module.ExponentialLR(opt, gamma=kw.get("gamma", 0.9))])
    if name == "warmup_restarts":
        warm = kw.get("step_size", 7)
        return module.SequentialLR(opt, [module.LinearLR(opt, start_factor=0.1, total_iters=warm),
                                         module.CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=2)],
                                   milestones=[warm])
    if name == "sequential_of_chained":  # SequentialLR undoes the initial steps inside a chain
        chained = module.ChainedScheduler([module.ConstantLR(opt, factor=0.5, total_iters=3),
                                           module.ExponentialLR(opt, gamma=kw.get("gamma", 0.9))])
        return module.SequentialLR(opt, [chained, module.CosineAnnealingWarmRestarts(opt, T_0=4)],
                                   milestones=[kw.get("step_size", 7)])
    raise AssertionError(name)


class _Warmup:
    """A callable object (not a function): LambdaLR's state_dict keeps its ``__dict__``."""

    def __init__(self, steps):
        self.steps = steps

    def __call__(self, t):
        return min(1.0, (t + 1) / self.steps)


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


NAMES = ["step", "multistep", "constant", "linear", "cosine", "onecycle", "warmup_cosine",
         "exponential", "polynomial", "lambda", "multiplicative", "warm_restarts", "chained",
         "warmup_restarts", "sequential_of_chained"]


@pytest.mark.parametrize("name", NAMES)
@given(kind=st.sampled_from(["sgd", "adam"]),
       step_size=st.integers(1, 12), gamma=st.sampled_from([0.1, 0.5, 0.9]),
       t_max=st.integers(3, 30), eta=st.sampled_from([0.0, 1e-3]),
       anneal=st.sampled_from(["cos", "linear"]), three_phase=st.booleans(),
       pct=st.sampled_from([0.1, 0.3, 0.5]), power=st.sampled_from([0.5, 1.0, 2.0]),
       t_mult=st.integers(1, 3))
def test_schedules_match_torch_exactly(name, kind, step_size, gamma, t_max, eta, anneal,
                                       three_phase, pct, power, t_mult):
    kw = dict(step_size=step_size, gamma=gamma, t_max=t_max, eta=eta, anneal=anneal,
              three_phase=three_phase, pct=pct, power=power, t_mult=t_mult)
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
    for name in ["step", "multistep", "linear", "cosine", "constant", "exponential",
                 "polynomial"]:
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


def test_lambda_state_dict_has_torchs_layout_and_restores_callable_objects():
    """Functions are stored as None, callable objects as their __dict__ (PyTorch's rule)."""
    ours_opt, torch_opt = optimizers("sgd")
    ours, theirs = build("lambda", ours_sched, ours_opt), build("lambda", torch_sched, torch_opt)
    trace(ours, ours_opt, steps=3)
    trace(theirs, torch_opt, steps=3)
    saved, torch_saved = ours.state_dict(), theirs.state_dict()
    assert saved["lr_lambdas"] == torch_saved["lr_lambdas"] == [None, {"steps": 7}]
    saved["lr_lambdas"][1] = {"steps": 3}
    ours.load_state_dict(saved)
    assert ours.lr_lambdas[1].steps == 3


def test_warm_restarts_with_fractional_epochs_match_torch():
    """step(epoch + batch / batches), the SGDR paper's per-batch use, for T_mult 1 and 2."""
    for t_mult in (1, 2):
        ours_opt, torch_opt = optimizers("sgd")
        ours = ours_sched.CosineAnnealingWarmRestarts(ours_opt, T_0=3, T_mult=t_mult,
                                                      eta_min=1e-3)
        theirs = torch_sched.CosineAnnealingWarmRestarts(torch_opt, T_0=3, T_mult=t_mult,
                                                         eta_min=1e-3)
        restarts = 0
        for epoch in range(12):
            for batch in range(5):
                ours.step(epoch + batch / 5)
                theirs.step(epoch + batch / 5)
                assert ours.get_last_lr() == theirs.get_last_lr()
                assert (ours.T_cur, ours.T_i, ours.last_epoch) == \
                    (theirs.T_cur, theirs.T_i, theirs.last_epoch)
                restarts += ours.T_cur == 0
        assert restarts >= 3  # the run crossed restarts (T_mult 2: at epochs 3 and 9)


def plateau_metrics():
    """A validation loss with every case in it: steady improvement, a plateau, improvements
    smaller than the relative threshold (they count as bad epochs), a rise, a recovery."""
    improving = [2.0 * 0.8 ** t for t in range(6)]
    flat = [improving[-1]] * 7
    tiny = [improving[-1] * (1 - 1e-6 * t) for t in range(1, 6)]
    rising = [improving[-1] * (1 + 0.05 * t) for t in range(1, 8)]
    recovery = [improving[-1] * 0.9 ** t for t in range(1, 6)]
    return improving + flat + tiny + rising + recovery + flat[:1] * 20


@pytest.mark.parametrize("mode", ["min", "max"])
@given(threshold_mode=st.sampled_from(["rel", "abs"]), patience=st.integers(0, 4),
       cooldown=st.integers(0, 3), factor=st.sampled_from([0.1, 0.5]),
       min_lr=st.sampled_from([0.0, 1e-3, [1e-2, 1e-4]]), threshold=st.sampled_from([1e-4, 0.0]))
def test_reduce_on_plateau_matches_torch_exactly(mode, threshold_mode, patience, cooldown,
                                                 factor, min_lr, threshold):
    sign = 1 if mode == "min" else -1  # max mode sees the negated loss (an accuracy-like metric)
    options = dict(mode=mode, factor=factor, patience=patience, threshold=threshold,
                   threshold_mode=threshold_mode, cooldown=cooldown, min_lr=min_lr)
    ours_opt, torch_opt = optimizers("sgd")
    ours = ours_sched.ReduceLROnPlateau(ours_opt, **options)
    theirs = torch_sched.ReduceLROnPlateau(torch_opt, **options)
    for metric in plateau_metrics():
        ours.step(sign * metric)
        theirs.step(sign * metric)
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert (ours.num_bad_epochs, ours.cooldown_counter, ours.best) == \
            (theirs.num_bad_epochs, theirs.cooldown_counter, theirs.best)
    assert ours.state_dict().keys() == theirs.state_dict().keys()


def test_reduce_on_plateau_exercises_patience_cooldown_and_min_lr_and_resumes():
    """The metric sequence above does reduce, cool down and reach min_lr (so the comparison
    with torch covers them), and a state dict saved mid-run continues exactly."""
    opt, _ = optimizers("sgd", groups=1)
    plateau = ours_sched.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=2, min_lr=0.02)
    lrs, cooled = [], 0
    metrics = plateau_metrics()
    for index, metric in enumerate(metrics):
        plateau.step(metric)
        lrs.append(plateau.get_last_lr()[0])
        cooled += plateau.in_cooldown
        if index == 15:
            saved = json.loads(json.dumps(plateau.state_dict()))  # inf survives as Infinity
            saved_lr = opt.param_groups[0]["lr"]
    reductions = [b / a for a, b in zip([0.1] + lrs, lrs) if b != a]
    assert reductions[:2] == [0.5, 0.5] and len(reductions) >= 3 and cooled > 0
    assert lrs[-1] == 0.02 and min(lrs) == 0.02  # floored at min_lr (0.1 -> 0.05 -> 0.025 -> 0.02)

    opt2, _ = optimizers("sgd", groups=1)
    resumed = ours_sched.ReduceLROnPlateau(opt2, factor=0.5, patience=2, cooldown=2, min_lr=0.02)
    resumed.load_state_dict(saved)
    opt2.param_groups[0]["lr"] = saved_lr
    for index, metric in enumerate(metrics[16:]):
        resumed.step(metric)
        assert resumed.get_last_lr()[0] == lrs[16 + index]


def test_chained_scheduler_composes_and_refuses_plateau():
    opt, _ = optimizers("sgd", groups=1)
    chained = ours_sched.ChainedScheduler([ours_sched.ConstantLR(opt, factor=0.1, total_iters=2),
                                           ours_sched.ExponentialLR(opt, gamma=0.9)])
    lrs = [chained.get_last_lr()[0]]
    for _ in range(4):
        chained.step()
        lrs.append(chained.get_last_lr()[0])
    np.testing.assert_allclose(lrs, [0.1 * 0.1, 0.1 * 0.1 * 0.9, 0.1 * 0.9 ** 2, 0.1 * 0.9 ** 3,
                                     0.1 * 0.9 ** 4], rtol=1e-12)
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        ours_sched.ChainedScheduler([ours_sched.ReduceLROnPlateau(opt)])


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
    (lambda o: ours_sched.ExponentialLR(o, gamma="0.9"), ValueError, "gamma"),
    (lambda o: ours_sched.PolynomialLR(o, total_iters=0), ValueError, "total_iters"),
    (lambda o: ours_sched.LambdaLR(o, lr_lambda=[lambda t: 1.0]), ValueError, "2 lr_lambdas"),
    (lambda o: ours_sched.MultiplicativeLR(o, lr_lambda=0.9), TypeError, "function"),
    (lambda o: ours_sched.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0"),
    (lambda o: ours_sched.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=1.5), ValueError,
     "T_mult"),
    (lambda o: ours_sched.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor"),
    (lambda o: ours_sched.ReduceLROnPlateau(o, mode="up"), ValueError, "mode"),
    (lambda o: ours_sched.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError,
     "threshold_mode"),
    (lambda o: ours_sched.ReduceLROnPlateau(o, patience=-1), ValueError, "patience"),
    (lambda o: ours_sched.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, "min_lrs"),
    (lambda o: ours_sched.ChainedScheduler([]), ValueError, "at least one"),
    (lambda o: ours_sched.ChainedScheduler([ours_sched.StepLR(o, 2)], optimizer=optim.SGD(
        [Parameter(np.zeros(2, np.float32))], lr=0.1)), ValueError, "same optimizer"),
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
