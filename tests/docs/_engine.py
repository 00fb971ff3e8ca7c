"""Run an OpSpec's engine call and layer for an evaluated configuration.

The card states formulas; these helpers produce what the engine says for the
same configuration (the output shape of the real call, the layer's parameter
count, the MACs ``minicnn.summary`` counts), for the tests to compare.
"""
import numpy as np

import minicnn
import minicnn.nn as nn
import minicnn.nn.functional as F


def operands(spec, evaluation, seed=0):
    """``{name: Tensor}`` of the shapes the card's formulas give, filled per the operand kind."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for operand in spec.operands:
        shape = evaluation.operands[operand.name]
        if operand.kind == "index":
            high = evaluation.namespace()[operand.high] if operand.high in evaluation.namespace() \
                else int(operand.high)
            array = rng.integers(0, high, size=shape).astype(np.int64)
        elif operand.kind == "bool":
            array = rng.random(shape) < 0.5
        elif operand.kind == "positive":
            array = (rng.random(shape) + 0.5).astype(np.float32)
        else:
            array = (rng.random(shape) * 2 - 1).astype(np.float32)
        tensors[operand.name] = minicnn.tensor(array)
    return tensors


def namespace(spec, evaluation, seed=0):
    names = {"F": F, "nn": nn, "blocks": nn.blocks, "minicnn": minicnn}
    names.update(evaluation.namespace())
    names.update(operands(spec, evaluation, seed))
    return names


def build_layer(spec, evaluation):
    return eval(spec.module, {"nn": nn, "blocks": nn.blocks, "minicnn": minicnn},  # noqa: S307
                evaluation.namespace())


def run_call(spec, evaluation, seed=0):
    """The engine's output for the card's call (a Tensor)."""
    names = namespace(spec, evaluation, seed)
    if spec.module:
        names["layer"] = build_layer(spec, evaluation)
    return eval(spec.call, names)  # noqa: S307  (the cards' own call strings)


def layer_counts(spec, evaluation):
    """``(parameters, summary MACs, output shape)`` of the card's layer."""
    layer = build_layer(spec, evaluation)
    params = sum(p.numel() for p in layer.parameters())
    report = minicnn.summary(layer, evaluation.operands[spec.module_input])
    top = report.rows[0]
    return params, report.total_macs, tuple(top.output_shape)
