"""``minicnn.train``: the training loop behind ``minicnn train``, checkpoints and run folders.

=================  ============================================================
module             contents
=================  ============================================================
``config``         TrainConfig (every option of a run, validated)
``trainer``        Trainer (the loop, Ctrl-C, resume), evaluate, evaluate_checkpoint
``checkpoint``     save_checkpoint / load_checkpoint (.npz + JSON, atomic, no pickle)
``metrics``        metrics.csv and curves.png
``progress``       ProgressBar (a live bar on a terminal, one line per epoch in logs)
``models``         the models the trainer can build (zoo, registered, module:callable)
``weights``        load_weights_file / init_from_weights (``--init-from``)
=================  ============================================================
"""
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .models import available_models, build_model, register_model
from .progress import ProgressBar
from .trainer import (NonFiniteLossError, RunFolderError, Trainer, TrainResult, evaluate,
                      evaluate_checkpoint)
from .weights import init_from_weights, load_weights_file

__all__ = ["TrainConfig", "Trainer", "TrainResult", "NonFiniteLossError", "RunFolderError",
           "CheckpointError", "evaluate", "evaluate_checkpoint", "save_checkpoint",
           "load_checkpoint", "register_model", "available_models", "build_model", "ProgressBar",
           "load_weights_file", "init_from_weights"]
