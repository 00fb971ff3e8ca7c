"""``minicnn.io``: weights in from other tools' files, without their code.

==========================  =====================================================
module                      contents
==========================  =====================================================
``torch_file``              load_torch_state_dict: ``torch.save`` files without
                            PyTorch, through an unpickler that runs no code
``safetensors_file``        load_safetensors / save_safetensors (``minicnn[io]``)
``weights``                 load_state_dict_file / load_weights: any of these or a
                            minicnn ``.npz``, told apart by the file's first bytes
==========================  =====================================================
"""
from .safetensors_file import load_safetensors, save_safetensors
from .torch_file import TorchFileError, UnsafePickleError, load_torch_state_dict, read_torch_file
from .weights import load_state_dict_file, load_weights

__all__ = ["load_torch_state_dict", "read_torch_file", "TorchFileError", "UnsafePickleError",
           "load_safetensors", "save_safetensors", "load_state_dict_file", "load_weights"]
