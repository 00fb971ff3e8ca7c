"""Optimizers: 50-step parameter trajectories against torch.optim, state dicts, bad input.

Tolerance for the float32 trajectories: PyTorch's CPU kernels fuse some
updates into one rounding (``lerp`` and ``addcmul`` use fused multiply-adds in
their vectorised loops) where NumPy rounds twice, so a step can differ by an
ulp or two. Over 50 steps these differences add up to a few units of 1e-6 on
parameters of size ~1: rtol 2e-5, atol 2e-6 (about 170 float32 ulps at 1),
far below any real error (a wrong sign, a missing bias correction or a
misplaced eps changes the trajectory at 1e-3 or more after a few steps).
In float64 the same comparison holds to 1e-12.
"""
import copy

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minicnn
from minicnn import optim
from minicnn.nn import Parameter

SHAPES = [(3, 4), (5,), (2, 3, 3, 3)]
STEPS = 50
F32 = dict(rtol=2e-5, atol=2e-6)
F64 = dict(rtol=1e-12, atol=1e-12)


def make_pair(seed, dtype=np.float32, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    ours = [Parameter(a.copy()) for a in arrays]
    theirs = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays]
    return ours, theirs


def groups_of(params, group_options):
    """Split ``params`` into len(group_options) groups (round robin) with those options."""
    if group_options is None:
        return params
    groups = [dict(options, params=[]) for options in group_options]
    for index, param in enumerate(params):
        groups[index % len(groups)]["params"].append(param)
    return groups


def run_both(ours_cls, theirs_cls, options, seed=0, dtype=np.float32, group_options=None,
             steps=STEPS, sparse_grads=False, scheduler=None):
    """Train both optimizers on the same gradient sequence; compare params after every step."""
    ours, theirs = make_pair(seed, dtype)
    opt_ours = ours_cls(groups_of(ours, group_options), **options)
    opt_theirs = theirs_cls(groups_of(theirs, group_options), **options)
    sched_ours = sched_theirs = None
    if scheduler is not None:
        make_ours, make_theirs = scheduler
        sched_ours, sched_theirs = make_ours(opt_ours), make_theirs(opt_theirs)
    rng = np.random.default_rng(seed + 1)
    tol = F32 if dtype == np.float32 else F64
    for step in range(steps):
        for index, (p, q) in enumerate(zip(ours, theirs)):
            if sparse_grads and (step + index) % 3 == 0:
                p.grad, q.grad = None, None  # a parameter without a gradient is skipped
                continue
            grad = rng.standard_normal(p.shape).astype(dtype)
            p.grad = grad.copy()
            q.grad = torch.from_numpy(grad.copy())
        opt_ours.step()
        opt_theirs.step()
        if scheduler is not None:
            sched_ours.step()
            sched_theirs.step()
        for index, (p, q) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(p.data, q.detach().numpy(), **tol,
                                       err_msg=f"param {index} after step {step + 1}")
    return opt_ours, opt_theirs, ours, theirs


# ------------------------------------------------------------------ trajectories
@given(momentum=st.sampled_from([0.0, 0.5, 0.9]), dampening=st.sampled_from([0.0, 0.3]),
       nesterov=st.booleans(), weight_decay=st.sampled_from([0.0, 1e-2]),
       maximize=st.booleans(), lr=st.sampled_from([1e-3, 0.05]))
def test_sgd_matches_torch_for_50_steps(momentum, dampening, nesterov, weight_decay, maximize, lr):
    if nesterov:  # nesterov needs momentum > 0 and no dampening: draw a valid combination
        momentum, dampening = max(momentum, 0.9), 0.0
    run_both(optim.SGD, torch.optim.SGD,
             dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                  weight_decay=weight_decay, maximize=maximize))


@given(betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)]),
       weight_decay=st.sampled_from([0.0, 0.1]), amsgrad=st.booleans(),
       maximize=st.booleans(), eps=st.sampled_from([1e-8, 1e-3]),
       decoupled=st.booleans())
def test_adam_and_adamw_match_torch_for_50_steps(betas, weight_decay, amsgrad, maximize, eps,
                                                 decoupled):
    ours, theirs = (optim.AdamW, torch.optim.AdamW) if decoupled else (optim.Adam, torch.optim.Adam)
    run_both(ours, theirs, dict(lr=1e-2, betas=betas, eps=eps, weight_decay=weight_decay,
                                amsgrad=amsgrad, maximize=maximize))


@given(alpha=st.sampled_from([0.99, 0.9]), momentum=st.sampled_from([0.0, 0.9]),
       centered=st.booleans(), weight_decay=st.sampled_from([0.0, 1e-2]),
       maximize=st.booleans())
def test_rmsprop_matches_torch_for_50_steps(alpha, momentum, centered, weight_decay, maximize):
    run_both(optim.RMSprop, torch.optim.RMSprop,
             dict(lr=1e-3, alpha=alpha, momentum=momentum, centered=centered,
                  weight_decay=weight_decay, maximize=maximize))


@given(rho=st.sampled_from([0.9, 0.5]), eps=st.sampled_from([1e-6, 1e-3]),
       weight_decay=st.sampled_from([0.0, 1e-2]), maximize=st.booleans(),
       lr=st.sampled_from([1.0, 0.1]))
def test_adadelta_matches_torch_for_50_steps(rho, eps, weight_decay, maximize, lr):
    run_both(optim.Adadelta, torch.optim.Adadelta,
             dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))


@given(lr_decay=st.sampled_from([0.0, 0.05]), weight_decay=st.sampled_from([0.0, 1e-2]),
       initial_accumulator_value=st.sampled_from([0.0, 0.5]), eps=st.sampled_from([1e-10, 1e-3]),
       maximize=st.booleans())
def test_adagrad_matches_torch_for_50_steps(lr_decay, weight_decay, initial_accumulator_value,
                                            eps, maximize):
    run_both(optim.Adagrad, torch.optim.Adagrad,
             dict(lr=0.05, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                  initial_accumulator_value=initial_accumulator_value, maximize=maximize))


@given(betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9)]), weight_decay=st.sampled_from([0.0, 0.1]),
       momentum_decay=st.sampled_from([4e-3, 0.1]), decoupled=st.booleans(),
       maximize=st.booleans())
def test_nadam_matches_torch_for_50_steps(betas, weight_decay, momentum_decay, decoupled,
                                          maximize):
    run_both(optim.NAdam, torch.optim.NAdam,
             dict(lr=1e-2, betas=betas, weight_decay=weight_decay, momentum_decay=momentum_decay,
                  decoupled_weight_decay=decoupled, maximize=maximize))


@given(betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.9, 0.5)]),
       weight_decay=st.sampled_from([0.0, 0.1]), decoupled=st.booleans(),
       maximize=st.booleans(), eps=st.sampled_from([1e-8, 1e-3]))
def test_radam_matches_torch_for_50_steps(betas, weight_decay, decoupled, maximize, eps):
    """betas[1] = 0.5 keeps rho_t <= 5 (plain momentum) for all 50 steps; 0.9 and 0.999
    switch to the rectified adaptive step after a few steps."""
    run_both(optim.RAdam, torch.optim.RAdam,
             dict(lr=1e-2, betas=betas, eps=eps, weight_decay=weight_decay,
                  decoupled_weight_decay=decoupled, maximize=maximize))


@pytest.mark.parametrize("ours, theirs, options", [
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    (optim.Adam, torch.optim.Adam, dict(lr=1e-2, amsgrad=True, weight_decay=1e-2)),
    (optim.AdamW, torch.optim.AdamW, dict(lr=1e-2)),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=1e-2, momentum=0.5, centered=True)),
    (optim.Adadelta, torch.optim.Adadelta, dict(lr=1.0, weight_decay=1e-2)),
    (optim.Adagrad, torch.optim.Adagrad,
     dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
    (optim.NAdam, torch.optim.NAdam, dict(lr=1e-2, weight_decay=1e-2, momentum_decay=0.01)),
    (optim.RAdam, torch.optim.RAdam, dict(lr=1e-2, weight_decay=1e-2, decoupled_weight_decay=True)),
])
def test_float64_trajectories_agree_to_rounding(ours, theirs, options):
    run_both(ours, theirs, options, dtype=np.float64)


def test_parameter_groups_have_their_own_options_and_missing_grads_are_skipped():
    group_options = [dict(lr=0.1, momentum=0.9), dict(lr=0.01, weight_decay=0.1),
                     dict(nesterov=True, momentum=0.5)]
    opt, _, _, _ = run_both(optim.SGD, torch.optim.SGD, dict(lr=0.05), sparse_grads=True,
                            group_options=group_options)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01, 0.05]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0, 0.5]
    run_both(optim.Adam, torch.optim.Adam, dict(lr=1e-2), sparse_grads=True,
             group_options=[dict(betas=(0.8, 0.9)), dict(lr=1e-3, amsgrad=True)])


def test_zero_grad_sets_none_or_zeros():
    params, _ = make_pair(0)
    opt = optim.SGD(params, lr=0.1)
    for p in params:
        p.grad = np.ones(p.shape, np.float32)
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_a_model_trains_with_every_optimizer():
    """A Module's parameters plug in as in PyTorch and a least-squares loss goes down."""
    for make in (lambda p: optim.SGD(p, lr=0.05, momentum=0.9), lambda p: optim.Adam(p, lr=0.05),
                 lambda p: optim.AdamW(p, lr=0.05), lambda p: optim.RMSprop(p, lr=0.01),
                 lambda p: optim.Adadelta(p, lr=1.0, eps=1e-2), lambda p: optim.Adagrad(p, lr=0.3),
                 lambda p: optim.NAdam(p, lr=0.05), lambda p: optim.RAdam(p, lr=0.1)):
        minicnn.manual_seed(0)
        model = minicnn.nn.Linear(4, 1)
        opt = make(model.parameters())
        x = minicnn.randn(32, 4)
        y = x.sum(dim=1, keepdim=True)
        losses = []
        for _ in range(60):
            loss = ((model(x) - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[-1] < 0.1 * losses[0]


def test_step_returns_the_closure_loss_with_grad_enabled():
    params, _ = make_pair(0)
    opt = optim.SGD(params, lr=0.1)

    def closure():
        opt.zero_grad()
        loss = sum((p * p).sum() for p in params)
        loss.backward()
        return loss

    with minicnn.no_grad():
        loss = opt.step(closure)
    assert loss.requires_grad
    np.testing.assert_allclose(loss.item(), sum(float((p.data ** 2).sum()) / 0.64 for p in params),
                               rtol=1e-5)  # after p -= 0.1 * 2p, p = 0.8 p_old


# ------------------------------------------------------------------ state dicts
@pytest.mark.parametrize("ours_cls, theirs_cls, options", [
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (optim.Adam, torch.optim.Adam, dict(lr=1e-2, amsgrad=True)),
    (optim.AdamW, torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.05)),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=1e-2, momentum=0.9, centered=True)),
    (optim.Adadelta, torch.optim.Adadelta, dict(lr=1.0, rho=0.8)),
    (optim.Adagrad, torch.optim.Adagrad,
     dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
    (optim.NAdam, torch.optim.NAdam, dict(lr=1e-2, momentum_decay=0.01)),
    (optim.RAdam, torch.optim.RAdam, dict(lr=1e-2, weight_decay=1e-2)),
])
def test_state_dict_layout_and_interchange_with_torch(ours_cls, theirs_cls, options):
    """Our state_dict has torch's keys; torch's (as arrays) loads into ours and continues the
    same trajectory, and ours loads into a fresh minicnn optimizer and continues exactly."""
    group_options = [dict(lr=options["lr"]), dict(lr=options["lr"] / 2)]
    opt_ours, opt_theirs, ours, theirs = run_both(ours_cls, theirs_cls, options, steps=5,
                                                  group_options=group_options)
    mine, torch_sd = opt_ours.state_dict(), opt_theirs.state_dict()
    assert mine["state"].keys() == torch_sd["state"].keys()
    for index in mine["state"]:
        assert mine["state"][index].keys() == torch_sd["state"][index].keys()
    for group, torch_group in zip(mine["param_groups"], torch_sd["param_groups"]):
        assert group["params"] == torch_group["params"]
        for key in group:
            assert key in torch_group, key

    # torch -> minicnn: a fresh optimizer on copies of the parameters continues torch's path.
    copies = [Parameter(p.data.copy()) for p in ours]
    resumed = ours_cls(groups_of(copies, group_options), **options)
    resumed.load_state_dict({
        "state": {i: {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in s.items()}
                  for i, s in torch_sd["state"].items()},
        "param_groups": copy.deepcopy(torch_sd["param_groups"])})
    # minicnn -> minicnn: an exact continuation.
    copies2 = [Parameter(p.data.copy()) for p in ours]
    resumed2 = ours_cls(groups_of(copies2, group_options), **options)
    resumed2.load_state_dict(copy.deepcopy(mine))

    rng = np.random.default_rng(7)
    for step in range(10):
        for p, q, c, c2 in zip(ours, theirs, copies, copies2):
            grad = rng.standard_normal(p.shape).astype(np.float32)
            p.grad, c.grad, c2.grad = grad.copy(), grad.copy(), grad.copy()
            q.grad = torch.from_numpy(grad.copy())
        for opt in (opt_ours, opt_theirs, resumed, resumed2):
            opt.step()
        for p, q, c, c2 in zip(ours, theirs, copies, copies2):
            np.testing.assert_allclose(c.data, q.detach().numpy(), **F32)
            np.testing.assert_array_equal(c2.data, p.data)


def test_adagrad_state_exists_before_the_first_step_as_in_torch():
    """Adagrad fills its accumulators in the constructor (with initial_accumulator_value), so
    a parameter that never gets a gradient still has state, in both."""
    ours, theirs = make_pair(0)
    opt_ours = optim.Adagrad(ours, lr=0.1, initial_accumulator_value=0.25)
    opt_theirs = torch.optim.Adagrad(theirs, lr=0.1, initial_accumulator_value=0.25)
    mine, torch_sd = opt_ours.state_dict(), opt_theirs.state_dict()
    assert mine["state"].keys() == torch_sd["state"].keys() == {0, 1, 2}
    for index, state in mine["state"].items():
        assert state["step"] == torch_sd["state"][index]["step"].item() == 0.0
        np.testing.assert_array_equal(state["sum"], torch_sd["state"][index]["sum"].numpy())


def test_state_dict_arrays_are_copied_on_load_and_cast_to_the_parameter_dtype():
    params, _ = make_pair(0)
    opt = optim.Adam(params, lr=0.1)
    for p in params:
        p.grad = np.ones(p.shape, np.float32)
    opt.step()
    saved = opt.state_dict()
    saved["state"][0]["exp_avg"] = saved["state"][0]["exp_avg"].astype(np.float64)
    other = optim.Adam(params, lr=0.1)
    other.load_state_dict(saved)
    loaded = other.state[params[0]]["exp_avg"]
    assert loaded.dtype == np.float32
    assert loaded is not saved["state"][0]["exp_avg"]
    assert other.state[params[0]]["step"] == 1.0


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("make, match", [
    (lambda p: optim.SGD(p, lr=-0.1), "learning rate"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-1), "momentum"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "weight_decay"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.Adam(p, lr=-1), "learning rate"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "beta parameter at index 0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "beta parameter at index 1"),
    (lambda p: optim.AdamW(p, eps=-1e-8), "epsilon"),
    (lambda p: optim.RMSprop(p, alpha=-0.5), "alpha"),
    (lambda p: optim.RMSprop(p, momentum=-0.5), "momentum"),
    (lambda p: optim.Adadelta(p, rho=1.5), "rho"),
    (lambda p: optim.Adadelta(p, eps=-1.0), "epsilon"),
    (lambda p: optim.Adagrad(p, lr_decay=-0.1), "lr_decay"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
    (lambda p: optim.NAdam(p, momentum_decay=-1e-3), "momentum_decay"),
    (lambda p: optim.NAdam(p, betas=(0.9, 1.0)), "beta parameter at index 1"),
    (lambda p: optim.RAdam(p, weight_decay=-1), "weight_decay"),
    (lambda p: optim.RAdam(p, betas=(-0.1, 0.999)), "beta parameter at index 0"),
    (lambda p: optim.SGD([{"params": p[:1]}, {"params": p[1:], "lr": -1.0}], lr=0.1),
     "learning rate"),
])
def test_invalid_options_raise_value_error_naming_the_option(make, match):
    params, _ = make_pair(0)
    with pytest.raises(ValueError, match=match):
        make(params)


def test_invalid_parameter_lists():
    params, _ = make_pair(0)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": params}, {"params": params[:1]}], lr=0.1)
    with pytest.raises(TypeError, match="ordered"):
        optim.SGD(set(params), lr=0.1)
    with pytest.raises(TypeError, match="Tensors"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(TypeError, match="Tensor"):
        optim.SGD(params[0], lr=0.1)
    leaf = minicnn.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([leaf * 2], lr=0.1)
    with pytest.raises(TypeError, match="floating-point"):
        optim.SGD([minicnn.tensor([1, 2, 3])], lr=0.1)


def test_load_state_dict_mismatch_raises_and_changes_nothing():
    params, _ = make_pair(0)
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    for p in params:
        p.grad = np.ones(p.shape, np.float32)
    opt.step()
    before = copy.deepcopy(opt.state_dict())

    fewer = optim.SGD(params[:2], lr=0.3, momentum=0.9).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(fewer)
    two_groups = optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="parameter groups"):
        opt.load_state_dict(two_groups)
    wrong_shape = copy.deepcopy(before)
    wrong_shape["state"][1]["momentum_buffer"] = np.zeros((7,), np.float32)
    wrong_shape["param_groups"][0]["lr"] = 99.0
    with pytest.raises(ValueError, match="momentum_buffer.*shape"):
        opt.load_state_dict(wrong_shape)
    with pytest.raises(ValueError, match="'state'"):
        opt.load_state_dict({"lr": 0.1})
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for index in before["state"]:
        np.testing.assert_array_equal(after["state"][index]["momentum_buffer"],
                                      before["state"][index]["momentum_buffer"])


def test_gradient_of_the_wrong_shape_is_reported():
    params, _ = make_pair(0)
    opt = optim.SGD(params, lr=0.1)
    params[0].grad = np.zeros((2, 2), np.float32)
    with pytest.raises(RuntimeError, match="shape"):
        opt.step()


def test_repr_lists_groups():
    params, _ = make_pair(0)
    text = repr(optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], lr=0.1))
    assert "Parameter Group 0" in text and "Parameter Group 1" in text and "lr: 0.5" in text
