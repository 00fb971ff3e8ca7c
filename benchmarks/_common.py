"""What the benchmark scripts share: running an engine in a child process, this process's
resident memory and the peak of one call, the PyTorch twins of the zoo's models."""
import json
import os
import resource
import subprocess
import sys


def run_child(script, *args):
    """Run ``python script *args`` (a benchmark's child mode) and parse the JSON it prints
    last; a failing child raises with the end of its stderr."""
    proc = subprocess.run([sys.executable, os.path.abspath(script), *map(str, args)],
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"benchmark child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def resident_mib() -> float:
    """This process's resident set now (RSS, from /proc/self/statm), in MiB."""
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def peak_rise_mib(call) -> float:
    """Run ``call()`` once; return the rise of this process's resident-set high-water mark
    (``ru_maxrss``, KiB on Linux) during it above the resident set just before it, in MiB:
    the most memory the call held at any moment beyond what was resident when it started.

    The high-water mark is first reset to the current resident set (``5`` written to
    ``/proc/self/clear_refs``, Linux >= 4.0), so an earlier, higher peak of the process
    (imports, building a model) cannot stand in for the call's own. Where the reset is
    refused, a warning says so: the figure is then an upper bound (the higher of the call's
    peak and any earlier one).
    """
    try:
        with open("/proc/self/clear_refs", "w") as stream:
            stream.write("5")
    except OSError as error:
        print(f"warning: cannot reset the peak resident set ({error}); the peak-memory figure "
              f"is an upper bound: an earlier, higher peak would be counted", file=sys.stderr)
    before = resident_mib()
    call()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before


def torch_twin(name, **kwargs):
    """The torch.nn twin of minicnn's zoo model ``name``, built with the same keyword arguments:
    the twins in tests/models, the oracles the model tests check minicnn against number by
    number (torchvision is not installed here)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)
    if name.startswith("resnet"):
        from tests.models.test_resnet import TWINS
        return TWINS[name](**kwargs)
    if name.startswith("mobilenet"):
        from tests.models.test_mobilenet import torch_twin as twin
        return twin(name, **kwargs)
    if name.startswith("shufflenet"):
        from tests.models.test_shufflenet import WIDTHS, TorchShuffleNetV2
        return TorchShuffleNetV2(WIDTHS[name], **kwargs)
    if name.startswith("efficientnet"):
        from tests.models.test_efficientnet import TorchEfficientNet
        return TorchEfficientNet(**kwargs)
    raise ValueError(f"torch_twin: no torch twin for model {name!r}")


def torch_copy(model, name, **kwargs):
    """``torch_twin(name, **kwargs)`` holding minicnn ``model``'s weights and buffers (strict)."""
    from minicnn.interop import to_torch_state_dict

    twin = torch_twin(name, **kwargs)
    twin.load_state_dict(to_torch_state_dict(model), strict=True)
    return twin
