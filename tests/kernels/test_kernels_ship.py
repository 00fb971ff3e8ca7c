"""The kernels ship with the installed package: a wheel built from this checkout holds every
module of ``kernels/`` as ``minicnn/_kernels/`` (setup.py maps the folder there), and the
package's data files (the bundled digits, the ImageNet class names, the exercise stubs)."""
import subprocess
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_holds_every_kernel_module(tmp_path):
    # --no-build-isolation: build with this environment's setuptools, nothing downloaded
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO_ROOT), "--no-deps",
                             "--no-build-isolation", "-q", "-w", str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = tmp_path.glob("minicnn-*.whl")
    shipped = {name for name in zipfile.ZipFile(wheel).namelist()
               if name.startswith("minicnn/_kernels/")}
    expected = {f"minicnn/_kernels/{path.name}" for path in (REPO_ROOT / "kernels").glob("*.py")}
    assert expected and expected <= shipped, sorted(expected - shipped)
    data = {"minicnn/data/digits.csv.gz", "minicnn/data/DIGITS-LICENSE.txt",
            "minicnn/data/imagenet_classes.txt", "minicnn/data/IMAGENET-CLASSES-LICENSE.txt"}
    data |= {f"minicnn/exercises/templates/{path.name}"
             for path in (REPO_ROOT / "minicnn" / "exercises" / "templates").glob("*.py")}
    assert data <= set(zipfile.ZipFile(wheel).namelist()), sorted(data - set(zipfile.ZipFile(wheel).namelist()))
