"""Render a :class:`~._model.Card` as Markdown (``docs/ops/*.md``) or as terminal text.

Both come from the same card object: the terminal text is the Markdown passed
through :func:`~._plain.markdown_to_text`, and the formula evaluation printed
by ``minicnn explain OP --shape ...`` uses the same :class:`~._expr.Expr`
objects the Markdown shows.
"""
import re

from ._expr import latex_name
from ._plain import markdown_to_text

GENERATED_NOTE = ("<!-- Generated from minicnn/cards/{module}.py by `python -m minicnn.cards "
                  "--write`: edit that file, not this one (tests/docs/test_cards.py checks "
                  "that they agree). -->")

MAC_CONVENTION = (
    "MACs are multiply-accumulates counted as `minicnn.summary` (and torchvision's "
    "\"GFLOPS\" column) counts them: only convolutions and matrix products, "
    "`N * C_out * H_out * W_out * (C_in / groups) * k_h * k_w` for a convolution; "
    "normalisation, activations, pooling and additions count 0 there, and the card's "
    "text gives their elementwise cost instead. Parameters are those of the equivalent "
    "layer (`module.parameters()`; running statistics are buffers, not parameters).")


def _shape_latex(exprs):
    inner = ", ".join(e.latex() for e in exprs)
    return f"({inner},)" if len(exprs) == 1 else f"({inner})"


def _shape_text(values):
    return str(tuple(values))


def _number(value):
    return f"{value:,}" if isinstance(value, int) else str(value)


def example_line(spec, example):
    """One example evaluation as Markdown (LaTeX for the formulas' names)."""
    ev = spec.evaluate(spec.parse_shape(example))
    parts = [rf"${latex_name(name)} = {value}$" for name, value in ev.derived.items()]
    parts.append(f"output ${_shape_text(ev.output)}$")
    if ev.params is not None:
        parts.append(f"{_number(ev.params)} parameters")
    if ev.macs is not None:
        parts.append(f"{_number(ev.macs)} MACs")
    return f"`minicnn explain {spec.name} --shape {example}` gives " + ", ".join(parts) + "."


def _default_latex(default):
    if default is None:
        return "required"
    if default == ():
        return "optional"
    if isinstance(default, int):
        return f"${default}$"
    from ._expr import Expr

    if isinstance(default, tuple):
        return ", else ".join(f"${Expr(d).latex()}$" for d in default)
    return f"${Expr(default).latex()}$"


def spec_markdown(spec):
    """The "Shapes, parameters and MACs" subsection of one operator."""
    lines = [f"### `{spec.name}`: {spec.title}", ""]
    if spec.aliases:
        lines += [f"Also answers to: {', '.join(f'`{a}`' for a in spec.aliases)}.", ""]
    lines += [f"Engine call: `{spec.call}`" + (f"; layer: `{spec.module}`." if spec.module
                                                  else " (no layer holds parameters for it)."),
              ""]
    lines += ["| symbol | meaning | default |", "| --- | --- | --- |"]
    for symbol in spec.symbols:
        lines.append(f"| `{symbol.name}` | {symbol.meaning} | "
                     f"{_default_latex(symbol.default)} |")
    lines += ["", "| operand | shape |", "| --- | --- |"]
    for operand in spec.operands:
        note = f" ({operand.meaning})" if operand.meaning else ""
        lines.append(f"| `{operand.name}`{note} | ${_shape_latex(spec.operand_exprs[operand.name])}$ |")
    lines.append("")
    for name, expr in spec.derived_exprs.items():
        lines += [f"$${latex_name(name)} = {expr.latex()}$$", ""]
    lines += [rf"$$\text{{output shape}} = {_shape_latex(spec.output_exprs)}$$", ""]
    if spec.params_expr is not None:
        lines += [rf"$$\text{{params}} = {spec.params_expr.latex()}$$", ""]
    if spec.macs_expr is not None:
        lines += [rf"$$\text{{MACs}} = {spec.macs_expr.latex()}$$", ""]
    if spec.constraints:
        lines += ["Constraints: " + "; ".join(f"{message} (`{test}`)"
                                              for test, message in spec.constraints) + ".", ""]
    if spec.notes:
        lines += [spec.notes.strip(), ""]
    lines += ["Formulas as `minicnn explain` evaluates them: " + "; ".join(
        [f"`{name} = {expr.text()}`" for name, expr in spec.derived_exprs.items()]
        + [f"`output = ({', '.join(e.text() for e in spec.output_exprs)})`"]
        + ([f"`params = {spec.params_expr.text()}`"] if spec.params_expr is not None else [])
        + ([f"`MACs = {spec.macs_expr.text()}`"] if spec.macs_expr is not None else [])) + ".",
        ""]
    for example in spec.examples:
        lines += ["- " + example_line(spec, example)]
    lines.append("")
    return "\n".join(lines)


def _link(path, depth=2):
    return f"[`{path}`]({'../' * depth}{path})"


def pictures_markdown(module_name):
    """The card's "Pictures" section: each picture (computed by minicnn, see
    :mod:`minicnn.figures`) linked from ``docs/ops/figures/``, with its caption."""
    from ..figures import for_card

    pictures = for_card(module_name)
    if not pictures:
        return []
    lines = ["## Pictures", "",
             "Drawn from minicnn's own forward and backward passes "
             "([`minicnn/figures`](../../minicnn/figures/__init__.py)); "
             f"`minicnn explain {module_name} --plot FILE.png` draws the first one.", ""]
    for picture in pictures:
        lines += [f"![{picture.name}](figures/{picture.name}.png)", "", picture.caption, ""]
    return lines


def card_markdown(card, module_name):
    """The whole card as Markdown (what ``docs/ops/<key>.md`` holds)."""
    names = ", ".join(f"`{name}`" for name in card.op_names)
    parts = [GENERATED_NOTE.format(module=module_name), "", f"# {card.title}", "",
             card.summary.strip(), "",
             f"**Operators:** {names}. In a terminal: `minicnn explain {card.ops[0].name}` "
             f"(add `--shape NAME=VALUE,...` to evaluate the formulas below).", "",
             "## Notation", "", card.notation.strip(), "",
             "## Forward", "", card.forward.strip(), "", *pictures_markdown(module_name),
             "## Gradients", "", card.gradients.strip(), ""]
    for heading, body in card.extra:
        parts += [f"## {heading}", "", body.strip(), ""]
    parts += ["## Shapes, parameters and MACs", "", MAC_CONVENTION, ""]
    for spec in card.ops:
        parts.append(spec_markdown(spec))
    parts += ["## Numerical pitfalls", "", card.pitfalls.strip(), "", "## Code", ""]
    for link in card.code:
        names = ": " + ", ".join(f"`{n}`" for n in link.names) if link.names else ""
        parts.append(f"- {_link(link.path)}{names}. {link.what}")
    parts += ["", "## Tests", "", "| what it checks | test |", "| --- | --- |"]
    for link in card.tests:
        path, _, function = link.test.partition("::")
        target = f"{_link(path)}" + (f" `{function}`" if function else "")
        parts.append(f"| {link.what} | {target} |")
    parts.append("")
    return "\n".join(parts)


def card_text(card, module_name):
    """The card for a terminal: the Markdown as plain text."""
    markdown = card_markdown(card, module_name)
    body = markdown.split("\n", 2)[2]  # drop the "generated from" comment
    body = re.sub(r"!\[[^\]]*\]\((figures/[^)]+)\)", r"Picture: docs/ops/\1", body)
    return markdown_to_text(body)


def _formula_value(expr, value):
    """``"C * k = 27"``, or just ``"0"`` for a constant formula."""
    text = expr.text()
    return text if text == str(value) else f"{text} = {_number(value)}"


def _tuple_text(exprs):
    inner = ", ".join(e.text() for e in exprs)
    return f"({inner},)" if len(exprs) == 1 else f"({inner})"


def evaluation_text(spec, evaluation):
    """What ``minicnn explain OP --shape ...`` prints: every formula with its value."""
    ev = evaluation
    width = max([len(n) for n in ev.derived] + [len(o.name) for o in spec.operands]
                + [len("output"), len("params")])
    lines = [f"{spec.name}: {spec.title}",
             "for " + ", ".join(f"{k}={v}" for k, v in ev.used.items()), ""]
    for name, expr in spec.derived_exprs.items():
        lines.append(f"  {name.ljust(width)} = {expr.text()} = {ev.derived[name]}")
    for operand in spec.operands:
        lines.append(f"  {operand.name.ljust(width)} : "
                     f"{_tuple_text(spec.operand_exprs[operand.name])} = "
                     f"{_shape_text(ev.operands[operand.name])}")
    lines.append(f"  {'output'.ljust(width)} : {_tuple_text(spec.output_exprs)}"
                 f" = {_shape_text(ev.output)}")
    if spec.params_expr is not None:
        lines.append(f"  {'params'.ljust(width)} = {_formula_value(spec.params_expr, ev.params)}")
    if spec.macs_expr is not None:
        lines.append(f"  {'MACs'.ljust(width)} = {_formula_value(spec.macs_expr, ev.macs)}")
    lines += ["", f"engine call: {spec.call}"]
    if spec.module:
        lines.append(f"layer:       {spec.module}")
    return "\n".join(lines) + "\n"
