"""``minicnn explain OP``: an operator's card in the terminal, and its formulas evaluated.

* ``minicnn explain`` lists the cards and the operators on each;
* ``minicnn explain conv2d`` prints the convolution card (notation, forward
  formula, gradients derived step by step, shape/parameter/MAC formulas,
  pitfalls, code and tests) as plain text;
* ``minicnn explain conv2d --shape N=1,C=3,H=32,W=32,C_out=16,k=3,s=1,p=1,d=1,g=1``
  evaluates that operator's shape, parameter and MAC formulas for one
  configuration and prints each formula with its value. ``--shape`` takes
  ``NAME=VALUE`` pairs separated by commas or spaces and may be repeated (later
  values win); symbols left out take the defaults the card lists (``k`` sets
  both ``k_h`` and ``k_w``, and so on).
* ``minicnn explain conv2d --plot window.png --shape k=3,s=1,d=1`` draws the card's
  picture (:mod:`minicnn.figures`, computed by minicnn's own operators) with those
  parameters.

The text comes from the same card objects (:mod:`minicnn.cards`) as the
Markdown pages in ``docs/ops/``.

To wire it into the ``minicnn`` command line::

    add_explain_parser(commands)                      # next to the "check" parser
    if args.command == "explain": return run_explain(args)
"""
import difflib
import sys

from . import cards


def add_explain_parser(subparsers):
    """Add the ``explain`` subcommand to an ``argparse`` subparsers object; returns its parser."""
    parser = subparsers.add_parser(
        "explain", help="print an operator's card: formulas, gradients, costs",
        description="Print the card of an operator (its math, gradients, costs, pitfalls, code "
                    "and tests) or, with --shape, evaluate its shape, parameter and MAC formulas "
                    "for one configuration. Without OP, list the operators.")
    parser.add_argument("op", nargs="?", metavar="OP",
                        help="an operator name (as in minicnn.nn.functional) or a card name")
    parser.add_argument("--shape", action="append", default=[], metavar="NAME=VALUE,...",
                        help="evaluate the formulas for these symbol values, e.g. "
                             "--shape N=1,C=3,H=32,W=32,C_out=16,k=3,s=1,p=1,d=1,g=1")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="draw the operator's picture (computed by minicnn) into FILE.png; "
                             "--shape NAME=VALUE,... then sets the picture's parameters")
    parser.add_argument("--markdown", action="store_true",
                        help="print the card's Markdown (with LaTeX) instead of plain text")
    return parser


def _listing():
    lines = ["Operator cards (minicnn explain OP; --shape NAME=VALUE,... evaluates the formulas):",
             ""]
    for module, card in cards.cards():
        lines.append(f"  {card.key}: {card.title}")
        lines.append(f"      {', '.join(card.op_names)}")
    return "\n".join(lines) + "\n"


def run_explain(args, out=None, err=None) -> int:
    """Run ``minicnn explain`` for parsed ``args`` (``op``, ``shape``, ``markdown``).

    Returns the exit status: 0, or 2 for an unknown operator or a bad ``--shape``.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    if not args.op:
        out.write(_listing())
        return 0
    try:
        card, spec = cards.find(args.op)
    except KeyError:
        known = sorted(cards.operators()) + [c.key for _, c in cards.cards()]
        close = difflib.get_close_matches(args.op, known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        err.write(f"minicnn explain: no card for {args.op!r}.{hint} "
                  f"Run 'minicnn explain' for the list.\n")
        return 2
    if getattr(args, "plot", None):
        return _plot(card, args, out, err)
    if not args.shape:
        out.write(cards.markdown(card) if args.markdown else cards.text(card))
        return 0
    try:
        values = {}
        for text in args.shape:
            values.update(spec.parse_shape(text))
        evaluation = spec.evaluate(values)
    except cards.FormulaError as error:
        err.write(f"minicnn explain: {error}\n")
        return 2
    out.write(cards.evaluation_text(spec, evaluation))
    return 0


def _plot(card, args, out, err):
    """``--plot FILE.png``: draw the picture of OP's card, ``--shape`` setting its parameters."""
    from . import figures

    picture = figures.pick(cards.module_of(card), args.op)
    try:
        params = figures.parse_params(picture, args.shape)
        figures.render(picture, args.plot, **params)
    except ValueError as error:
        err.write(f"minicnn explain: {error}\n")
        return 2
    used = ", ".join(f"{k}={v}" for k, v in {**picture.params, **params}.items())
    out.write(f"wrote {args.plot}: {picture.caption}\nparameters: {used or 'none'}\n")
    return 0


def main(argv=None) -> int:
    """``python -m minicnn.explain OP [--shape ...]`` (the same as ``minicnn explain``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="minicnn")
    commands = parser.add_subparsers(dest="command")
    add_explain_parser(commands)
    args = parser.parse_args(["explain"] + list(sys.argv[1:] if argv is None else argv))
    return run_explain(args)


if __name__ == "__main__":
    sys.exit(main())
