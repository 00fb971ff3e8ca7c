"""Import the kernel modules: the checkout's ``kernels/``, else the installed ``minicnn._kernels``.

Importing a kernel module imports ``numba.cuda``, which fixes for the whole
process whether Numba runs the CUDA target or the simulator
(``NUMBA_ENABLE_CUDASIM``): only test modules that have decided which one
they need call this.
"""
import importlib


def kernel_module(name):
    try:
        return importlib.import_module(f"kernels.{name}")
    except ModuleNotFoundError as error:
        if error.name != "kernels":
            raise
        return importlib.import_module(f"minicnn._kernels.{name}")


def package():
    try:
        return importlib.import_module("kernels")
    except ModuleNotFoundError as error:
        if error.name != "kernels":
            raise
        return importlib.import_module("minicnn._kernels")
