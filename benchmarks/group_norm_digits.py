"""GroupNorm against BatchNorm at batch size 2: a width-8 ResNet-18 on the bundled digits.

The same run (the ``minicnn train`` trainer: SGD with Nesterov momentum, cosine
schedule, random shifts, ``--batch-size 2``) twice, the model's normalisation
layers the only difference: ``resnet18(width=8)`` (BatchNorm2d) and
``resnet18(width=8, norm_layer=lambda c: nn.GroupNorm(2, c))``. Reports the test
accuracy after every epoch (evaluation mode: BN then normalises with its running
statistics) and writes ``benchmarks/results/group_norm_digits.md``.

    python benchmarks/group_norm_digits.py                # the README's figures: 10 epochs each
    python benchmarks/group_norm_digits.py --epochs 1 --no-write

Accuracies, not timings: the numbers do not depend on the machine's load.
"""
import argparse
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results")
GROUPS = 2  # stage widths 8..64: 2 groups of 4..32 channels


def group_norm_resnet18(**kwargs):
    from minicnn import models, nn

    return models.resnet18(norm_layer=lambda channels: nn.GroupNorm(GROUPS, channels), **kwargs)


def train(model, epochs, lr, folder):
    """Test accuracy per epoch of one ``minicnn train`` run at batch size 2."""
    from minicnn.train import TrainConfig, Trainer

    config = TrainConfig(model=model, model_kwargs={"width": 8}, batch_size=2, epochs=epochs,
                         lr=lr, seed=0)
    with open(os.devnull, "w") as quiet:
        result = Trainer(config, out=os.path.join(folder, model), stream=quiet).run()
    return [row["test_acc"] for row in result.history]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    from minicnn.train.models import register_model

    register_model("resnet18_groupnorm", group_norm_resnet18)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, model in (("BatchNorm2d", "resnet18"), (f"GroupNorm({GROUPS}, C)",
                                                            "resnet18_groupnorm")):
            accuracies = train(model, args.epochs, args.lr, folder)
            rows.append((label, accuracies))
            print(f"{label}: test accuracy per epoch "
                  f"{', '.join(f'{100 * a:.1f}%' for a in accuracies)}", flush=True)
    lines = ["# GroupNorm vs BatchNorm at batch size 2 (ResNet-18 width 8, digits)", "",
             f"`python benchmarks/group_norm_digits.py --epochs {args.epochs} --lr {args.lr}`: "
             f"the `minicnn train` trainer, batch size 2, SGD (Nesterov momentum 0.9, weight "
             f"decay 5e-4), lr {args.lr} with a cosine schedule, random shifts, seed 0.", "",
             "| normalisation | " + " | ".join(f"epoch {e + 1}" for e in range(args.epochs)) + " |",
             "| --- |" + " --- |" * args.epochs]
    for label, accuracies in rows:
        lines.append(f"| {label} | " + " | ".join(f"{100 * a:.1f}%" for a in accuracies) + " |")
    if not args.no_write:
        os.makedirs(RESULTS, exist_ok=True)
        with open(os.path.join(RESULTS, "group_norm_digits.md"), "w") as stream:
            stream.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
