"""``minicnn predict``: ImageNet preprocessing written out in NumPy, class names, and an end-to-end
run against PyTorch on a generated image with weights saved by torch.save."""
import re
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from minicnn.cli import main
from minicnn.data.imagenet import IMAGENET_MEAN, IMAGENET_STD, imagenet_classes, load_image
from minicnn.data.transforms import CenterCrop, Resize
from tests.models import randomize_torch_bn, torch_one_thread  # noqa: F401  (autouse fixture)
from tests.models import test_mobilenet as mobilenet_tests


def torch_resize(array, size):
    """torchvision's tensor Resize: F.interpolate(bilinear, antialias=True, align_corners=False)."""
    batch = torch.from_numpy(np.ascontiguousarray(array[None]))
    return torch.nn.functional.interpolate(batch, size=size, mode="bilinear", antialias=True,
                                           align_corners=False)[0].numpy()


@pytest.mark.parametrize("shape, size, expected", [
    ((3, 300, 451), 256, (256, 384)),   # downsampling: the shorter side to 256, int(256 * 451/300)
    ((3, 90, 70), 256, (329, 256)),     # upsampling a portrait image
    ((2, 40, 33), (20, 50), (20, 50)),  # an explicit (h, w)
])
def test_resize_is_pytorchs_antialiased_bilinear(shape, size, expected):
    x = np.random.default_rng(0).standard_normal(shape)
    out = Resize(size)(x)
    assert out.shape[1:] == expected and out.dtype == np.float64
    # Both in float64: the same formula, so only rounding differs.
    np.testing.assert_allclose(out, torch_resize(x, expected), rtol=0, atol=1e-12)
    pixels = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    resized = Resize(size)(pixels)
    assert resized.dtype == np.uint8
    reference = torch_resize(pixels.astype(np.float64), expected)
    np.testing.assert_array_equal(resized, np.round(reference).astype(np.uint8))


def test_center_crop_offsets_and_errors():
    x = np.arange(2 * 7 * 10).reshape(1, 2, 7, 10)
    # torchvision: top = round((7 - 4) / 2) = 2 (half to even), left = round((10 - 3) / 2) = 4
    np.testing.assert_array_equal(CenterCrop((4, 3))(x), x[:, :, 2:6, 4:7])
    with pytest.raises(ValueError, match=r"CenterCrop: size \(8, 3\) is larger than the image"):
        CenterCrop((8, 3))(x)


def test_class_names():
    names = imagenet_classes()
    assert len(names) == len(set(names)) == 1000
    # torchvision's first, a few well-known and last names (ILSVRC 2012 synset order)
    assert (names[0], names[1], names[281], names[817], names[999]) == (
        "tench", "goldfish", "tabby", "sports car", "toilet tissue")


def generated_image(path, height=250, width=330):
    """A smooth colour pattern with some noise, saved as PNG (lossless)."""
    rows, cols = np.mgrid[0:height, 0:width] / 40.0
    rng = np.random.default_rng(0)
    rgb = np.stack([np.sin(rows) * np.cos(cols), np.sin(rows + cols), np.cos(rows * 0.7)], -1)
    pixels = np.clip(127.5 + 100 * rgb + rng.normal(0, 10, rgb.shape), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return pixels


def test_predict_end_to_end_matches_pytorch(tmp_path, capsys):
    torch.manual_seed(0)
    twin = randomize_torch_bn(mobilenet_tests.torch_twin("mobilenet_v3_small")).eval()
    torch.save(twin.state_dict(), tmp_path / "weights.pth")
    pixels = generated_image(tmp_path / "image.png")

    assert main(["predict", "--model", "mobilenet_v3_small", "--weights",
                 str(tmp_path / "weights.pth"), str(tmp_path / "image.png")]) == 0
    printed = capsys.readouterr().out
    ours = [(int(k), name) for name, k in re.findall(r"^  \d\. (.+) \((\d+)\)  ", printed, re.M)]

    # PyTorch's side, from the pixels: torchvision's preset with torch's own operators.
    image = torch.from_numpy(pixels.transpose(2, 0, 1).astype(np.float32))
    resized = torch_resize(image.numpy(), (256, int(256 * 330 / 250))).round()  # (256, 337)
    top, left = round((256 - 224) / 2), round((337 - 224) / 2)
    crop = torch.from_numpy(resized[:, top:top + 224, left:left + 224] / 255)
    mean, std = torch.tensor(IMAGENET_MEAN)[:, None, None], torch.tensor(IMAGENET_STD)[:, None, None]
    with torch.no_grad():
        logits = twin(((crop - mean) / std)[None].float())[0]
    theirs = torch.topk(logits, 5).indices.tolist()
    names = imagenet_classes()
    assert ours == [(k, names[k]) for k in theirs]
    assert printed.startswith(str(tmp_path / "image.png"))


def test_predict_errors(tmp_path, capsys, monkeypatch):
    generated_image(tmp_path / "image.png", 40, 40)
    assert main(["predict", "--model", "resnet18", "--weights", str(tmp_path / "none.pth"),
                 str(tmp_path / "image.png")]) == 2
    assert "weights=" in capsys.readouterr().err
    (tmp_path / "not-an-image.png").write_text("text")
    with pytest.raises(ValueError, match="not an image Pillow can read"):
        load_image(tmp_path / "not-an-image.png")
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r'pip install "minicnn\[images\]"'):
        load_image(tmp_path / "image.png")
