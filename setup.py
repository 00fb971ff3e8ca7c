from setuptools import find_packages, setup

with open("README.md", encoding="utf-8") as readme:
    long_description = readme.read()

setup(
    name="minicnn",
    version="0.1.0",
    description="A small CNN engine for understanding and checking convolutional networks: "
                "NumPy operators with their math, a hand-written autograd, checked against PyTorch",
    long_description=long_description,
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # kernels/ (the CUDA kernels, Numba) ships inside the package as minicnn._kernels.
    packages=find_packages(include=["minicnn", "minicnn.*"]) + ["minicnn._kernels"],
    package_dir={"minicnn._kernels": "kernels"},
    # The bundled digits (from scikit-learn, BSD-3-Clause; UCI optdigits, CC BY 4.0), so that
    # `minicnn train` works offline on a fresh install; attribution in DIGITS-LICENSE.txt.
    # The ImageNet class names of `minicnn predict` (torchvision's list, BSD-3-Clause; see
    # IMAGENET-CLASSES-LICENSE.txt).
    # The exercise stubs `minicnn exercises init` copies (Python text, not a package).
    package_data={"minicnn.data": ["digits.csv.gz", "DIGITS-LICENSE.txt", "imagenet_classes.txt",
                                   "IMAGENET-CLASSES-LICENSE.txt"],
                  "minicnn.exercises": ["templates/*.py"]},
    install_requires=[
        "numpy>=2.0",  # stacked, broadcast matmul is 25-57x slower on NumPy 1.x
        "numba>=0.60",
        "matplotlib>=3.5",  # the loss/accuracy curves (curves.png) of `minicnn train`
    ],
    extras_require={
        # torch is the test oracle only; 2.13.0 is the CPU build on the local disk.
        # numba-cuda + NVRTC/NVVM compile every CUDA kernel to PTX in CI, without a GPU.
        # scikit-learn: the bundled digits are checked against its copy (no download).
        # onnx + onnxruntime: every exported graph is checked and run; safetensors and Pillow:
        # the io and images extras below are tested too; mpi4py + mpich: the mpiexec -n 2 tests.
        # expecttest: imported by torch.testing._internal (the OpInfo suite, tests/opinfo).
        "test": ["pytest>=8", "hypothesis>=6.100", "torch==2.13.0", "numba-cuda>=0.30,<0.31",
                 "nvidia-cuda-nvrtc>=13,<14", "nvidia-nvvm>=13,<14", "scikit-learn>=1.3",
                 "onnx>=1.16", "onnxruntime>=1.18", "safetensors>=0.4", "pillow>=10",
                 "mpi4py>=4.0", "mpich>=4.2", "threadpoolctl>=3",
                 "expecttest>=0.2"],
        # `minicnn train --threads N`: sets NumPy's BLAS threads at run time.
        "threads": ["threadpoolctl>=3"],
        # .safetensors read/write (minicnn.io); torch.save files and .npz need nothing extra.
        "io": ["safetensors>=0.4"],
        # decoding image files for `minicnn predict`.
        "images": ["pillow>=10"],
        # minicnn.onnx.export (onnxruntime only to run the exported graph: not required).
        "onnx": ["onnx>=1.16"],
        # Data-parallel training (minicnn.distributed, `mpiexec -n N minicnn train`): mpi4py with
        # the MPICH library as wheels. On a cluster, install only mpi4py, built against its MPI.
        "dist": ["mpi4py>=4.0", "mpich>=4.2"],
        # One CUDA major version for CuPy and Numba's CUDA target.
        "gpu": ["cupy-cuda13x>=14", "numba-cuda[cu13]>=0.20"],
    },
    entry_points={"console_scripts": ["minicnn=minicnn.cli:main"]},
)
