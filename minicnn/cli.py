"""The ``minicnn`` command line (also ``python -m minicnn``).

Subcommands:

* ``minicnn check [OP ...]``: for each operator (all by default), run the
  float64 gradient check and, when PyTorch is installed, the float32 parity
  check on a few configurations; print a table; exit 1 if anything fails.
* ``minicnn train [options]``: train a model (by default a small ResNet on the
  bundled digits) with a progress bar, per-epoch test accuracy, a run folder
  with checkpoints, metrics.csv and curves.png; ``--resume CKPT`` continues a
  run exactly; Ctrl-C or SIGTERM saves a checkpoint and stops;
  ``--init-from`` fine-tunes from another run's weights.
* ``minicnn evaluate CKPT|RUN_FOLDER``: the test loss and accuracy (per class too)
  of a checkpoint (a run folder's best.npz).
* ``minicnn models``: the model zoo with parameter counts.
* ``minicnn summary MODEL``: the per-layer table (output shapes, parameters,
  multiply-accumulates) of a model.
* ``minicnn predict --model NAME --weights FILE IMAGE ...``: the top-5 ImageNet
  classes of image files, with a weight file (.pth, .safetensors, .npz).
* ``minicnn export CKPT OUT.onnx``: a trained checkpoint's model as an ONNX graph.
* ``minicnn exercises init DIR`` / ``minicnn exercises check DIR [NAME]``: write a
  backward yourself; the grader compares it with minicnn's operator.
"""
import argparse
import json
import os
import sys
import time



def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _format_error(value: float) -> str:
    return "-" if value != value else f"{value:.2e}"  # nan (a crash) prints as "-"


def run_check(ops, seed: int, use_torch: bool, out=None, device: str = "cpu") -> int:
    from .checks import all_cases, run_case
    from ._device import cuda_unavailable_reason, parse_device

    out = out or sys.stdout
    try:
        kind, _ = parse_device(device)
    except ValueError as error:
        print(f"minicnn check: --device: {error}", file=sys.stderr)
        return 2
    if kind == "cuda" and cuda_unavailable_reason() is not None:
        print(f"minicnn check: --device {device}: {cuda_unavailable_reason()}", file=sys.stderr)
        return 2

    cases = all_cases()
    known = sorted({c.op for c in cases})
    if ops:
        unknown = [op for op in ops if op not in known]
        if unknown:
            print(f"minicnn check: unknown operator(s) {', '.join(unknown)}; "
                  f"valid: {', '.join(known)}", file=sys.stderr)
            return 2
        cases = [c for c in cases if c.op in ops]
    torch_ok = use_torch and _torch_available()
    skipped_why = None if torch_ok else (
        "PyTorch is not installed; pip install 'minicnn[test]' adds them" if use_torch else
        "--no-torch was given")
    if use_torch and not torch_ok:
        print("PyTorch is not installed: running the float64 gradient checks only "
              "(pip install 'minicnn[test]' adds the parity checks).", file=out)

    header = ("op", "configuration", "check", "max abs err", "max rel err", "result")
    rows, failures = [], []
    start = time.perf_counter()
    for case in cases:
        for result in run_case(case, seed=seed, torch_available=torch_ok, device=device):
            rows.append((result.op, result.config, result.check, _format_error(result.max_abs_error),
                         _format_error(result.max_rel_error), "pass" if result.passed else "FAIL"))
            if not result.passed:
                failures.append(result)
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = "  ".join("{:<%d}" % w for w in widths)
    print(line.format(*header), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in rows:
        print(line.format(*row), file=out)
    elapsed = time.perf_counter() - start
    print(f"\n{len(rows) - len(failures)} passed, {len(failures)} failed "
          f"({len(cases)} configurations of {len({c.op for c in cases})} operators, "
          f"{elapsed:.1f} s)", file=out)
    skipped = sum(case.torch_fn is not None for case in cases) if skipped_why else 0
    if skipped:
        print(f"{skipped} of {len(cases)} configurations skipped their float32 PyTorch parity "
              f"check: {skipped_why}.", file=out)
    print("grad f64 rows: max rel err over the elements whose numeric gradient is at least "
          "1e-5 in size (the absolute error is the measure below that).", file=out)
    for result in failures:
        print(f"FAIL {result.op} [{result.config}] {result.check}: {result.detail}", file=out)
    return 1 if failures else 0


# ------------------------------------------------------------------ train
def _model_kwargs(pairs):
    """``["width=16", "small_input=false"]`` -> ``{"width": 16, "small_input": False}``
    (values are read as JSON when they parse, else kept as strings)."""
    kwargs = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"--model-kw: expected KEY=VALUE with KEY a Python name, got {pair!r}")
        text = value.strip()
        lowered = text.lower()
        if lowered in ("true", "false"):
            kwargs[key] = lowered == "true"
            continue
        try:
            kwargs[key] = json.loads(text)
        except json.JSONDecodeError:
            kwargs[key] = text
    return kwargs


def _int_list(text):
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated epochs, got {text!r}") from None


def _add_train_parser(commands):
    from .train.config import DEFAULT_GAMMA, DEFAULT_LR, DEFAULT_MODEL, DEFAULT_MODEL_KWARGS, \
        OPTIMIZERS, SCHEDULES, TrainConfig

    defaults = TrainConfig()
    train = commands.add_parser(
        "train", help="train a model (default: a small ResNet on the bundled digits)",
        description="Train a model from the zoo on a dataset; each epoch prints the training "
                    "loss and accuracy and the test accuracy, and writes checkpoints "
                    "(last.npz, best.npz), metrics.csv and curves.png to the run folder. "
                    "Ctrl-C saves a checkpoint; --resume continues exactly where it stopped.")
    add = train.add_argument
    kw_default = " ".join(f"{k}={v}" for k, v in DEFAULT_MODEL_KWARGS.items())
    add("--model", default=None, metavar="NAME",
        help=f"a model of `minicnn models` (default {DEFAULT_MODEL} with {kw_default}), or "
             f"package.module:callable, called as callable(num_classes=K, in_channels=C, "
             f"small_input=BOOL, **model_kw) and returning a minicnn.nn.Module")
    add("--model-kw", action="append", default=None, metavar="KEY=VALUE",
        help="constructor argument of the model, repeatable (e.g. --model-kw width=16)")
    add("--dataset", default=None, metavar="NAME",
        help=f"digits (bundled), mnist, fashion-mnist or cifar10 (default {defaults.dataset})")
    add("--data-dir", default=None, metavar="DIR",
        help="folder with the mnist / fashion-mnist IDX files or the cifar10 batches")
    add("--epochs", type=int, default=None, help=f"number of epochs (default {defaults.epochs})")
    add("--batch-size", type=int, default=None,
        help=f"training batch size (default {defaults.batch_size})")
    add("--optimizer", default=None, metavar="NAME",
        help=f"{', '.join(OPTIMIZERS)} (default {defaults.optimizer})")
    add("--lr", type=float, default=None,
        help="learning rate (default: " + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items())
        + "); the peak rate with a warm-up or onecycle")
    add("--momentum", type=float, default=None, help=f"SGD momentum (default {defaults.momentum})")
    add("--no-nesterov", dest="nesterov", action="store_const", const=False, default=None,
        help="plain momentum instead of Nesterov's (SGD)")
    add("--weight-decay", type=float, default=None,
        help=f"L2 penalty (decoupled for adamw) (default {defaults.weight_decay:g})")
    add("--schedule", default=None, metavar="NAME",
        help=f"learning-rate schedule: {', '.join(SCHEDULES)} (default {defaults.schedule})")
    add("--warmup-epochs", type=int, default=None,
        help="epochs of linear warm-up from lr/10 (default 1; none with onecycle)")
    add("--step-size", type=int, default=None,
        help="step schedule: epochs between decays, counted after the warm-up "
             "(default epochs // 3)")
    add("--milestones", type=_int_list, default=None, metavar="E1,E2",
        help="multistep schedule: epochs (from the start of the run) at which to decay "
             "(default epochs/2, 3 epochs/4)")
    add("--gamma", type=float, default=None,
        help="step/multistep/plateau decay factor (default 0.1); exponential: the factor per "
             f"epoch (default {DEFAULT_GAMMA['exponential']})")
    add("--patience", type=int, default=None,
        help=f"plateau schedule: epochs without a lower test loss before the lr is multiplied "
             f"by --gamma (default {defaults.patience})")
    add("--cooldown", type=int, default=None,
        help=f"plateau schedule: epochs after a decay before counting again "
             f"(default {defaults.cooldown})")
    add("--min-lr", type=float, default=None,
        help=f"plateau schedule: lower bound of the lr (default {defaults.min_lr:g})")
    add("--restart-epochs", type=int, default=None,
        help="cosine-restarts schedule: epochs of the first cosine period, counted after the "
             "warm-up (default a third of them)")
    add("--restart-mult", type=int, default=None,
        help=f"cosine-restarts schedule: each period is this many times the previous one "
             f"(default {defaults.restart_mult})")
    add("--power", type=float, default=None,
        help=f"poly schedule: lr * (1 - t/T) ** power (default {defaults.power:g})")
    add("--no-augment", dest="augment", action="store_const", const=False, default=None,
        help="no random shifts (and flips on cifar10) of the training images")
    add("--label-smoothing", type=float, default=None, help="cross-entropy label smoothing")
    add("--clip-grad-norm", type=float, default=None, metavar="MAX",
        help="clip the gradients' joint L2 norm to MAX")
    add("--eval-batch-size", type=int, default=None,
        help=f"batch size of the test evaluation (default {defaults.eval_batch_size})")
    add("--device", default=None, help="cpu or cuda (default cpu)")
    add("--seed", type=int, default=None, help=f"random seed (default {defaults.seed})")
    add("--workers", dest="num_workers", type=int, default=None,
        help="background threads preparing batches (default 0)")
    add("--out", default=None, metavar="DIR",
        help="run folder (default runs/<date>-<time>-<model>-<dataset>); must be empty")
    add("--resume", default=None, metavar="CKPT",
        help="continue the run of this checkpoint (in its folder unless --out); only --epochs, "
             "--data-dir, --device, --workers and --eval-batch-size may change")
    add("--overwrite", action="store_true", help="allow --out to be a folder holding a run")
    add("--init-from", default=None, metavar="CKPT_OR_WEIGHTS",
        help="start from these weights (a checkpoint, a run folder, an .npz of state_dict "
             "arrays, a .pth or a .safetensors file) with a new optimizer, schedule and run folder; tensors whose name or "
             "shape differ (a head for another class count) keep their fresh initialisation")
    add("--threads", type=int, default=None, metavar="N",
        help="BLAS and Numba threads (default: theirs, usually one per core); recorded in "
             "config.json")
    add("--diagnostics", action="store_const", const=True, default=None,
        help="record per layer and epoch the activation mean/std, the fraction of zeros after "
             "ReLU-like layers, the gradient norm and the update-to-weight ratio: "
             "diagnostics.csv and diagnostics.png (heatmaps) in the run folder")
    return train


_TRAIN_OPTIONS = ("model", "dataset", "data_dir", "epochs", "batch_size", "optimizer", "lr",
                  "momentum", "nesterov", "weight_decay", "schedule", "warmup_epochs", "step_size",
                  "milestones", "gamma", "patience", "cooldown", "min_lr", "restart_epochs",
                  "restart_mult", "power", "augment", "label_smoothing", "clip_grad_norm",
                  "eval_batch_size", "device", "seed", "num_workers", "threads", "init_from",
                  "diagnostics")


def run_train(args, argv) -> int:
    from ._device import DeviceUnavailableError
    from .train import CheckpointError, NonFiniteLossError, RunFolderError, TrainConfig, Trainer
    from .train.checkpoint import describe_os_error

    given = {name: getattr(args, name) for name in _TRAIN_OPTIONS if getattr(args, name) is not None}
    command = "minicnn train " + " ".join(argv)
    trainer = None
    try:
        if args.model_kw is not None:
            given["model_kwargs"] = _model_kwargs(args.model_kw)
        if args.resume is not None:
            trainer = Trainer(resume=args.resume, overrides=given, out=args.out,
                              overwrite=args.overwrite, command=command)
        else:
            trainer = Trainer(TrainConfig(**given), out=args.out, overwrite=args.overwrite,
                              command=command)
        result = trainer.run()
    except KeyboardInterrupt:  # before training started (loading data), or a second signal
        import signal

        signum = getattr(trainer, "stop_signal", None) or signal.SIGINT
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        print(f"minicnn train: interrupted; no checkpoint was written by this {name}",
              file=sys.stderr)
        return 128 + signum
    except NonFiniteLossError as error:
        print(f"minicnn train: {error}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, RunFolderError, CheckpointError,
            DeviceUnavailableError) as error:
        print(f"minicnn train: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a folder or file the run reads or writes (permissions, disk)
        print(f"minicnn train: {_os_error_line(error, describe_os_error)}", file=sys.stderr)
        return 2
    return 128 + result.signal if result.status == "interrupted" else 0  # 130 SIGINT, 143 SIGTERM


def _os_error_line(error, describe) -> str:
    """Our own OSErrors carry a sentence (no errno); the system's get one from describe."""
    return str(error) if error.errno is None else describe(error, "cannot use")


# ------------------------------------------------------------------ evaluate
def run_evaluate(args) -> int:
    from ._device import DeviceUnavailableError
    from .train import CheckpointError, evaluate_checkpoint
    from .train.checkpoint import describe_os_error

    try:
        scores = evaluate_checkpoint(args.checkpoint, data_dir=args.data_dir, split=args.split,
                                     batch_size=args.batch_size, device=args.device)
    except (ValueError, FileNotFoundError, CheckpointError, DeviceUnavailableError) as error:
        print(f"minicnn evaluate: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"minicnn evaluate: {_os_error_line(error, describe_os_error)}", file=sys.stderr)
        return 2
    print(f"{scores['model']} on {scores['dataset']} ({scores['split']} split), checkpoint "
          f"{scores['position']}: {scores['checkpoint']}")
    print(f"loss {scores['loss']:.4f}  accuracy {100 * scores['accuracy']:.2f}% "
          f"({scores['correct']}/{scores['count']})  in {scores['seconds']:.2f} s")
    width = max(len(str(c)) for c in scores["classes"])
    print("per class: " + "  ".join(f"{str(c):>{width}} {100 * a:5.1f}%"
                                    for c, a in zip(scores["classes"], scores["per_class"])))
    return 0


# ------------------------------------------------------------------ models / summary
def run_models(out=None) -> int:
    from .train.models import available_models

    out = out or sys.stdout
    rows = []
    for name, constructor in sorted(available_models().items()):
        try:
            imagenet = constructor(num_classes=1000).num_parameters()
        except Exception as error:  # noqa: BLE001 - a registered model may not take these
            imagenet = f"({type(error).__name__})"
        try:
            digits = constructor(num_classes=10, in_channels=1, small_input=True).num_parameters()
        except Exception as error:  # noqa: BLE001
            digits = f"({type(error).__name__})"
        rows.append((name, imagenet, digits))
    header = ("model", "params (3x224x224, 1000 classes)", "params (1x8x8 digits, 10 classes)")
    cells = [header] + [(n, f"{a:,}" if isinstance(a, int) else a,
                         f"{b:,}" if isinstance(b, int) else b) for n, a, b in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(3)]
    for index, row in enumerate(cells):
        print("  ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]),
              file=out)
        if index == 0:
            print("  ".join("-" * w for w in widths), file=out)
    print(f"\n{len(rows)} models; train one with: minicnn train --model NAME "
          f"[--model-kw width=16 | width_mult=0.5 ...]", file=out)
    return 0


_DATASET_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28),
                   "cifar10": (3, 32, 32)}


def run_summary(args) -> int:
    from .summary import summary
    from .train.models import build_model, model_kwargs_for

    try:
        extra = _model_kwargs(args.model_kw)
        if args.dataset is not None:
            if args.dataset not in _DATASET_SHAPES:
                raise ValueError(f"--dataset: unknown choice {args.dataset!r}; valid choices: "
                                 f"{', '.join(_DATASET_SHAPES)}")
            shape = _DATASET_SHAPES[args.dataset]
            kwargs = model_kwargs_for(shape, args.num_classes or 10, extra)
        else:
            shape = tuple(int(v) for v in args.input_shape.split(","))
            if len(shape) != 3 or min(shape) < 1:
                raise ValueError(f"--input-shape must be C,H,W, got {args.input_shape!r}")
            kwargs = {"num_classes": args.num_classes or 1000}
            if shape[0] != 3:
                kwargs["in_channels"] = shape[0]
            kwargs.update(extra)
        model = build_model(args.model, kwargs)
        table = summary(model, (args.batch,) + shape)
    except ValueError as error:
        print(f"minicnn summary: {error}", file=sys.stderr)
        return 2
    print(f"{args.model}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})")
    print(table)
    return 0


# ------------------------------------------------------------------ predict / export
def run_predict(args) -> int:
    from .models import get_model
    from .predict import format_predictions, predict

    try:
        model = get_model(args.model, weights=args.weights)
        results = predict(model, args.images, topk=args.topk)
    except (ImportError, FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"minicnn predict: {error}", file=sys.stderr)
        return 2
    for image, ranked in zip(args.images, results):
        print(format_predictions(image, ranked))
    return 0


def _input_shape(text):
    shape = tuple(int(v) for v in text.split(",")) if text else ()
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"--input-shape must be C,H,W with positive sizes, got {text!r}")
    return shape


def run_export(args) -> int:
    import numpy as np

    from .onnx import OnnxExportError, export
    from .train import CheckpointError, load_checkpoint
    from .train.checkpoint import check_state_dict_fits
    from .train.models import build_model, register_recorded

    try:
        meta, state = load_checkpoint(args.checkpoint)
        name, kwargs = meta["model"]["name"], dict(meta["model"]["kwargs"])
        dataset = meta["config"]["dataset"]
        if args.input_shape is not None:
            shape = _input_shape(args.input_shape)
        elif dataset in _DATASET_SHAPES:
            shape = _DATASET_SHAPES[dataset]
        else:
            raise ValueError(f"the run's dataset {dataset!r} has no known image shape; give "
                             f"--input-shape C,H,W")
        register_recorded(name, meta["model"].get("constructor"))  # a registered model
        model = build_model(name, kwargs)
        check_state_dict_fits(model, state, args.checkpoint, f" ({name} {kwargs})")
        model.load_state_dict(state)
        export(model, np.zeros((1,) + shape, dtype=np.float32), args.output,
               opset_version=args.opset, dynamic_batch=not args.static_batch)
    except (ImportError, FileNotFoundError, ValueError, KeyError, CheckpointError,
            OnnxExportError) as error:
        print(f"minicnn export: {error}", file=sys.stderr)
        return 2
    norm = meta.get("normalization") or {}
    print(f"wrote {args.output}: {name} ({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}), "
          f"input 'input' of shape ({'batch' if not args.static_batch else 1}, "
          f"{', '.join(map(str, shape))}), output 'output', ONNX opset {args.opset}")
    if norm:
        print(f"the graph takes normalised images, as in training: x / {norm['scale']:g}, then "
              f"(x - mean) / std with mean {norm['mean']} and std {norm['std']}")
    return 0


def _add_exercises_parser(commands):
    exercises = commands.add_parser(
        "exercises", help="write backwards yourself; graded against minicnn's operators",
        description="init DIR writes the exercise files (a forward given, a backward to write, "
                    "the shapes and where the derivation is on the operator's card); "
                    "check DIR [NAME] grades them against minicnn's own operators.")
    actions = exercises.add_subparsers(dest="action", metavar="ACTION", required=True)
    init = actions.add_parser("init", help="write the exercise files into DIR")
    init.add_argument("directory", metavar="DIR")
    init.add_argument("--force", action="store_true",
                      help="overwrite exercise files already in DIR (default: keep them)")
    check = actions.add_parser("check", help="grade the exercise files in DIR")
    check.add_argument("directory", metavar="DIR")
    check.add_argument("name", nargs="?", metavar="NAME", help="one exercise (default: all)")
    check.add_argument("--seed", type=int, default=0, help="seed of the inputs the grader draws")


def run_exercises(args, out=None) -> int:
    from . import exercises

    out = out or sys.stdout
    if args.action == "init":
        written = exercises.init(args.directory, overwrite=args.force)
        for exercise in exercises.EXERCISES:
            path = os.path.join(args.directory, f"{exercise.name}.py")
            kept = "" if any(str(p) == path for p in map(str, written)) else "  (kept: already there)"
            print(f"  {path}{kept}", file=out)
        print(f"Fill in each stub, then: minicnn exercises check {args.directory} [NAME]", file=out)
        return 0
    if not os.path.isdir(args.directory):
        print(f"minicnn exercises check: {args.directory!r} is not a folder "
              f"(minicnn exercises init {args.directory} writes one)", file=sys.stderr)
        return 2
    try:
        results = exercises.grade(args.directory, args.name, seed=args.seed)
    except KeyError as error:
        print(f"minicnn exercises check: {error.args[0]}", file=sys.stderr)
        return 2
    width = max(len(r.name) for r in results)
    for result in results:
        print(f"{result.name:<{width}}  {result.status}", file=out)
    for result in results:
        if result.status != "pass":
            print(f"\n{result.status.upper()} {result.message}", file=out)
    passed = sum(r.status == "pass" for r in results)
    print(f"\n{passed} of {len(results)} passed", file=out)
    return 0 if passed == len(results) else 1


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from . import __version__

    parser = argparse.ArgumentParser(prog="minicnn", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"minicnn {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser(
        "check", help="gradient-check every operator and compare it with PyTorch",
        description="Run the float64 central-difference gradient check and (with PyTorch "
                    "installed) the float32 PyTorch parity check of each operator; with "
                    "--device cuda, also run each float32 case on the GPU against the CPU.")
    check.add_argument("ops", nargs="*", metavar="OP", help="operators to check (default: all)")
    check.add_argument("--seed", type=int, default=0, help="seed for inputs and upstream gradients")
    check.add_argument("--no-torch", action="store_true", help="skip the PyTorch parity checks")
    check.add_argument("--device", default="cpu",
                       help="cpu (default) or cuda[:N]: also compare each case on that GPU "
                            "with the CPU (outputs, input gradients, updated inputs)")

    _add_train_parser(commands)

    evaluate = commands.add_parser(
        "evaluate", help="test loss and accuracy of a checkpoint",
        description="Rebuild the model a checkpoint was saved from, load its weights and "
                    "evaluate it on its dataset's test split.")
    evaluate.add_argument("checkpoint", metavar="CKPT",
                          help="a .npz checkpoint (last.npz, best.npz) or a run folder (its "
                               "best.npz, else its last.npz)")
    evaluate.add_argument("--data-dir", default=None, metavar="DIR",
                          help="dataset folder, if not the one the run used")
    evaluate.add_argument("--split", default="test", choices=("test", "train"))
    evaluate.add_argument("--batch-size", type=int, default=None)
    evaluate.add_argument("--device", default="cpu")

    commands.add_parser("models", help="list the model zoo with parameter counts",
                        description="Every model `minicnn train --model` accepts, with its "
                                    "parameter count in the ImageNet and the digits "
                                    "configuration.")

    summary = commands.add_parser(
        "summary", help="per-layer table of a model: output shapes, parameters, MACs",
        description="Run MODEL once on zeros and print each layer's output shape, parameters "
                    "and multiply-accumulates, with totals.")
    summary.add_argument("model", metavar="MODEL")
    summary.add_argument("--input-shape", default="3,224,224", metavar="C,H,W",
                         help="input image shape (default 3,224,224)")
    summary.add_argument("--dataset", default=None,
                         help="use this dataset's image shape and the trainer's model arguments "
                              "(digits: 1x8x8 with small_input=True)")
    summary.add_argument("--num-classes", type=int, default=None)
    summary.add_argument("--batch", type=int, default=1, help="batch size of the MAC count")
    summary.add_argument("--model-kw", action="append", default=None, metavar="KEY=VALUE")

    predict = commands.add_parser(
        "predict", help="top-5 ImageNet classes of image files",
        description="Build MODEL with the weights in FILE (a torch.save .pth/.pt, a "
                    ".safetensors or an .npz, e.g. torchvision's ImageNet weights), preprocess "
                    "each image as torchvision does (resize 256, centre crop 224, normalise) "
                    "and print its most probable classes. Reading images needs Pillow "
                    "(pip install \"minicnn[images]\").")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.add_argument("--model", required=True, metavar="NAME",
                         help="a zoo model with 1000 ImageNet outputs (resnet50, ...)")
    predict.add_argument("--weights", required=True, metavar="FILE")
    predict.add_argument("--topk", type=int, default=5, help="classes shown per image (5)")

    export = commands.add_parser(
        "export", help="write a checkpoint's model as an ONNX graph",
        description="Rebuild the model a checkpoint was saved from, load its weights and "
                    "write its forward as an ONNX graph, checked by onnx.checker (needs the "
                    "onnx package: pip install \"minicnn[onnx]\").")
    export.add_argument("checkpoint", metavar="CKPT", help="a .npz checkpoint (best.npz, last.npz)")
    export.add_argument("output", metavar="OUT.onnx")
    export.add_argument("--input-shape", default=None, metavar="C,H,W",
                        help="image shape (default: the run's dataset's)")
    export.add_argument("--opset", type=int, default=17, help="ONNX opset version (17)")
    export.add_argument("--static-batch", action="store_true",
                        help="fix the batch size to 1 (default: any batch size)")

    from .explain import add_explain_parser, run_explain

    add_explain_parser(commands)
    _add_exercises_parser(commands)

    args = parser.parse_args(argv)
    if args.command == "explain":
        return run_explain(args)
    if args.command == "check":
        return run_check(args.ops, args.seed, not args.no_torch, device=args.device)
    if args.command == "train":
        return run_train(args, argv[1:])
    if args.command == "evaluate":
        return run_evaluate(args)
    if args.command == "models":
        return run_models()
    if args.command == "summary":
        return run_summary(args)
    if args.command == "predict":
        return run_predict(args)
    if args.command == "export":
        return run_export(args)
    if args.command == "exercises":
        return run_exercises(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
