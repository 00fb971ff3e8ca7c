"""``benchmarks/gpu.py`` without a GPU: every launcher call it makes fits the launcher's
signature, and without a GPU it stops with exit status 2 and says why.

(The script itself times kernels on a GPU; ``benchmarks/gpu_check.sh`` runs it there.)
"""
import ast
import importlib
import importlib.util
import inspect
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("benchmark_gpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _launcher_calls():
    """``(line, module, function, call)`` for each ``k.<module>.<function>(...)`` in the script."""
    for node in ast.walk(ast.parse(SCRIPT.read_text())):
        func = getattr(node, "func", None)
        if (isinstance(node, ast.Call) and isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Attribute)
                and isinstance(func.value.value, ast.Name) and func.value.value.id == "k"):
            yield node.lineno, func.value.attr, func.attr, node


def test_every_launcher_call_binds_to_the_launcher():
    calls = list(_launcher_calls())
    assert len(calls) >= 15, "the scan found too few launcher calls: has the script changed?"
    for line, module, name, call in calls:
        launcher = getattr(importlib.import_module(f"kernels.{module}"), name, None)
        assert launcher is not None, f"gpu.py:{line}: kernels.{module} has no {name}"
        if any(isinstance(a, ast.Starred) for a in call.args) or \
                any(k.arg is None for k in call.keywords):
            continue  # *args / **kwargs: not checkable statically
        try:
            inspect.signature(launcher).bind(*call.args, **{k.arg: k for k in call.keywords})
        except TypeError as error:
            pytest.fail(f"gpu.py:{line}: kernels.{module}.{name}(...) does not fit its "
                        f"signature: {error}")


def test_activation_rows_name_existing_launchers():
    activation = importlib.import_module("kernels.activation")
    for name in ("hardswish", "hardsigmoid"):
        for direction in ("forward", "backward"):
            assert callable(getattr(activation, f"{name}_{direction}"))


def test_without_a_gpu_it_exits_2_and_says_why(capsys):
    script = _load_script()
    problem = script.environment_problem()
    if problem is None:
        pytest.skip("a GPU is usable here: benchmarks/gpu_check.sh runs the script")
    assert script.main(["--quick"]) == 2
    assert problem in capsys.readouterr().err
