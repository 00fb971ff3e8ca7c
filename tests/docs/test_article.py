"""minicnn.article: the seed article's blocks as its code computes them, one test per erratum.

Expected values are derived from the article's code and the papers (shape arithmetic,
parameter formulas written out below), never read off a run of the code under test.
The errata page (docs/article-errata.md) is checked to show current outputs.
"""
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
import minicnn.article
import minicnn.nn as nn
import minicnn.nn.functional as F
from minicnn.article import (BLOCKS, ArticleDenseStage, ArticleDepthwiseConvBN, ArticleInception,
                             ArticleInceptionResNetA, ArticleInvertedResidual, ArticleMBConv,
                             ArticleMobileV3Bottleneck, ArticleResidualBlock, ArticleResNetV2Block,
                             ArticleSEBlock, ArticleSeparableConv2d, ArticleShuffleV2Block,
                             PaperBottleneck, PaperDenseBlock, PaperInvertedResidual, PaperMBConv,
                             PaperMobileNetV3Bottleneck, PaperSqueezeExcitation, _tf, counts)
from minicnn.article import errata

REPO = Path(__file__).resolve().parents[2]
ERRATA_PAGE = REPO / "docs" / "article-errata.md"


def _params(module):
    return sum(p.numel() for p in module.parameters())


# ----------------------------------------------------------------------------- the page
def test_errata_page_outputs_are_current():
    problems = errata.stale(ERRATA_PAGE.read_text(encoding="utf-8"))
    assert not problems, (f"{len(problems)} snippet output(s) of docs/article-errata.md are stale; "
                          f"run 'python -m minicnn.article.errata --write'. First:\n"
                          f"{problems[0][1]}\nrecorded:\n{problems[0][2]}\nfresh:\n{problems[0][3]}")


def test_every_erratum_has_a_section_with_a_snippet_and_its_output():
    page = ERRATA_PAGE.read_text(encoding="utf-8")
    sections = re.split(r"\n## ", page)
    for number in range(1, 11):
        section = next((s for s in sections if s.startswith(f"Erratum {number}:")), None)
        assert section is not None, f"no section for erratum {number}"
        assert "```python\n" in section and "```text\n" in section, f"erratum {number}: no snippet"
    assert any(s.startswith("Parameters and MACs") for s in sections)


# ----------------------------------------------------------------------------- TensorFlow's rules
@pytest.mark.parametrize("size, kernel, stride, expected", [
    (7, 3, 2, (1, 1)),   # out 4: (4-1)*2 + 3 - 7 = 2
    (8, 3, 2, (0, 1)),   # out 4: (4-1)*2 + 3 - 8 = 1, the odd one at the end
    (5, 2, 1, (0, 1)),   # out 5: 4 + 2 - 5 = 1
    (5, 1, 2, (0, 0)),   # 1x1 needs none
])
def test_tf_same_padding(size, kernel, stride, expected):
    assert _tf.same_padding(size, kernel, stride) == expected
    conv = _tf.TFConv2d(1, 1, kernel, stride, "same")
    assert conv(minicnn.randn(1, 1, size, size)).shape[2] == math.ceil(size / stride)


def test_tf_max_pool_same_pads_bottom_right_with_values_that_never_win():
    x = -np.abs(np.random.default_rng(0).standard_normal((1, 1, 3, 3))).astype(np.float32)
    y = _tf.TFMaxPool2d(2, 1, "same")(minicnn.tensor(x)).numpy()[0, 0]
    padded = np.pad(x[0, 0], ((0, 1), (0, 1)), constant_values=-np.inf)
    expected = np.array([[padded[i:i + 2, j:j + 2].max() for j in range(3)] for i in range(3)])
    np.testing.assert_array_equal(y, expected)


def test_tf1_legacy_bilinear_resize():
    x = np.arange(7, dtype=np.float64)
    out = _tf.TFResizeBilinear()(minicnn.tensor(x.reshape(1, 1, 7, 1)), (4, 1)).numpy().ravel()
    # source positions i * 7 / 4 = 0, 1.75, 3.5, 5.25, linear between neighbours
    np.testing.assert_allclose(out, [0.0, 1.75, 3.5, 5.25])


def test_article_activations_are_the_pytorch_definitions_values_and_gradients():
    x = np.concatenate([np.linspace(-5, 5, 41), [-3.0, 3.0]])
    for article_fn, engine_fn in ((_tf.hswish, F.hardswish), (_tf.hsigmoid, F.hardsigmoid)):
        a, b = (minicnn.tensor(x, requires_grad=True) for _ in range(2))
        article_fn(a).sum().backward()
        engine_fn(b).sum().backward()
        np.testing.assert_allclose(article_fn(minicnn.tensor(x)).numpy(), engine_fn(minicnn.tensor(x)).numpy())
        np.testing.assert_allclose(a.grad, b.grad)


# ----------------------------------------------------------------------------- erratum 1
def test_article_v1_residual_block_with_stride_2_cannot_add_its_shortcut():
    x = minicnn.randn(2, 64, 16, 16)
    with pytest.raises(ValueError, match=r"s\*s=4.*erratum 1"):
        ArticleResidualBlock(64, 64, s=2)(x)
    # the paper: stride once, strided projection: 16 -> 8
    assert PaperBottleneck(64, 16, stride=2)(x).shape == (2, 64, 8, 8)


def test_article_v1_projection_normalises_the_branch_and_its_conv_is_dead():
    x = minicnn.randn(2, 8, 9, 9)
    block = ArticleResidualBlock(8, 16, s=2).eval()
    branch = block.branch(x)
    assert branch.shape == (2, 16, 3, 3)  # ceil(ceil(9 / 2) / 2) = 3: strided twice
    y = block(x)
    np.testing.assert_allclose(y.numpy(), F.relu(branch + block.shortcut_bn(branch)).numpy(), rtol=1e-6)
    block.dead_projection.weight.data[...] = 7.0
    np.testing.assert_array_equal(y.numpy(), block(x).numpy())


# ----------------------------------------------------------------------------- erratum 2
def test_article_resnet_v2_is_post_activation_and_resizes_its_identity_path():
    block = ArticleResNetV2Block(16, 4, 16, strides=2)
    first = block.branch[0]
    assert [type(m) for m in first] == [_tf.TFConv2d, nn.BatchNorm2d, nn.LeakyReLU]
    x = minicnn.randn(1, 16, 8, 8)
    np.testing.assert_array_equal(block.resize(x, (4, 4)).numpy(), x.numpy()[:, :, ::2, ::2])
    assert block.projection is None and block(x).shape == (1, 16, 4, 4)
    assert ArticleResNetV2Block(16, 4, 32, strides=2).projection.stride == (2, 2)


# ----------------------------------------------------------------------------- erratum 3
def test_article_inception_extra_conv_and_pool_branch():
    block = ArticleInception(24)
    convs = [m.kernel_size[0] for m in block.branch_3.modules() if isinstance(m, nn.Conv2d)]
    assert convs == [1, 3, 5]
    assert [type(m) for m in block.branch_4][:3] == [_tf.TFMaxPool2d, nn.BatchNorm2d, nn.LeakyReLU]
    assert block.branch_4[0].pool_size == (2, 2)
    assert block(minicnn.randn(1, 24, 7, 7)).shape == (1, 64 + 128 + 32 + 32, 7, 7)


# ----------------------------------------------------------------------------- erratum 4
def test_article_inception_resnet_a_has_no_scaling_no_relu_and_projects_its_input():
    block = ArticleInceptionResNetA().eval()
    assert block.shortcut.in_channels == 3 and block.shortcut.out_channels == 384
    x = minicnn.randn(2, 3, 9, 9)
    y = block(x)
    branches = F.cat([block.branch_1(x), block.branch_2(x), block.branch_3(x)], 1)
    np.testing.assert_allclose(y.numpy(), (block.shortcut(x) + block.up(branches)).numpy(), rtol=1e-5,
                               atol=1e-6)
    assert y.numpy().min() < 0  # no ReLU after the add
    assert ArticleInceptionResNetA(32, 32).shortcut is None


# ----------------------------------------------------------------------------- erratum 5
def test_article_dense_stage_orders_conv_activation_bn_with_a_k_wide_1x1():
    stage = ArticleDenseStage(16, depth=8, repeat=3)
    layer = stage.layers[0]
    assert [type(m) for m in layer.children()][:3] == [_tf.TFConv2d, nn.LeakyReLU, nn.BatchNorm2d]
    assert layer.conv.out_channels == 8
    paper = PaperDenseBlock(3, 16, bn_size=4, growth_rate=8)
    assert paper.denselayer1.conv1.out_channels == 4 * 8
    x = minicnn.randn(1, 16, 5, 5)
    assert stage(x).shape == paper(x).shape == (1, 16 + 3 * 8, 5, 5)


# ----------------------------------------------------------------------------- erratum 6
def test_article_shufflenet_unit_relu_after_depthwise_no_bn_and_leaky_relu():
    block = ArticleShuffleV2Block(8, 8, 3)
    depthwise = block.top[1]
    assert isinstance(depthwise, ArticleDepthwiseConvBN) and isinstance(depthwise.act, nn.ReLU)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in depthwise.modules())
    assert block.top[0][2].negative_slope == 0.2
    x = minicnn.randn(1, 8, 6, 6)
    assert block(x).shape == (1, 8, 6, 6)
    assert ArticleShuffleV2Block(8, 16, 3, stride=2)(x).shape == (1, 16, 3, 3)


def test_the_articles_shufflenet_example_cannot_shuffle():
    with pytest.raises(ValueError, match="concatenates 3 channels.*does not divide"):
        ArticleShuffleV2Block(4, 2, 3, stride=1, shuffle_group=2)


def test_shufflenet_v2_memory_access_cost_is_smallest_for_equal_widths():
    # ShuffleNetV2's G1: a 1x1 conv on h x w reads hw*c1, writes hw*c2, reads c1*c2 weights.
    # For fixed FLOPs B = hw*c1*c2, MAC = hw(c1 + c2) + B/hw is smallest at c1 = c2
    # (AM-GM: c1 + c2 >= 2 sqrt(c1 c2)); multiply-adds cannot tell the layers apart.
    h = w = 56
    product = 128 * 128
    splits = [(c1, product // c1) for c1 in (8, 16, 32, 64, 128, 256, 512, 1024, 2048)]
    costs = {split: h * w * (split[0] + split[1]) + product for split in splits}
    assert min(costs, key=costs.get) == (128, 128)
    assert len({h * w * c1 * c2 for c1, c2 in splits}) == 1


# ----------------------------------------------------------------------------- erratum 7
def test_article_mobilenet_v2_block_with_stride_2_does_not_downsample():
    x = minicnn.randn(1, 8, 10, 10)
    assert ArticleInvertedResidual(8, 6, 16, stride=2)(x).shape == (1, 16, 10, 10)
    assert PaperInvertedResidual(8, 16, 2, 6)(x).shape == (1, 16, 5, 5)
    article = ArticleInvertedResidual(8, 6, 16, stride=1)
    assert article.ex_dim is not None and not PaperInvertedResidual(8, 16, 1, 6).use_res_connect


# ----------------------------------------------------------------------------- erratum 8
@settings(max_examples=8)
@given(seed=st.integers(0, 2**16), scale=st.sampled_from([0.1, 1.0, 10.0]),
       gate=st.sampled_from(["sigmoid", "hsigmoid"]))
def test_article_se_gates_never_go_below_one_half(seed, scale, gate):
    minicnn.manual_seed(seed)
    x = minicnn.randn(8, 16, 4, 4) * scale - scale  # mostly negative inputs, too
    assert ArticleSEBlock(16, 4, gate=gate).gates(x).numpy().min() >= 0.5


def test_paper_se_gates_do_go_below_one_half():
    minicnn.manual_seed(0)
    x = minicnn.randn(8, 16, 4, 4)
    assert PaperSqueezeExcitation(16, 4)._scale(x).numpy().min() < 0.5


# ----------------------------------------------------------------------------- erratum 9
def test_article_mbconv_relu6_se_after_projection_output_squeeze_no_expansion_skip():
    block = ArticleMBConv(12, 4, 16, 1, 4)
    kinds = {type(m) for m in block.modules()}
    assert nn.ReLU6 in kinds and nn.SiLU not in kinds
    assert [name for name, _ in block.named_children()][:4] == ["pw", "dw", "pw_linear", "se"]
    assert block.se.squeeze.in_channels == 16 and block.se.squeeze.out_channels == 16 // 4
    paper = PaperMBConv(12, 16, 4, 3, 1)
    assert isinstance(paper.block[2], nn.SqueezeExcitation) and paper.block[2].fc1.out_channels == 12 // 4
    assert ArticleMBConv(8, 1, 8, 1, 4).pw[0].out_channels == 8      # expands anyway
    assert len(PaperMBConv(8, 8, 1, 3, 1).block) == 3                # the paper skips it


# ----------------------------------------------------------------------------- erratum 10
def test_article_mobilenet_v3_se_after_projection_projected_shortcut_undefined_example():
    assert not hasattr(minicnn.article, "MobileBottleneck")
    article = ArticleMobileV3Bottleneck(16, 48, 4, 24, 3, stride=1, relu=False, se=True)
    paper = PaperMobileNetV3Bottleneck(16, 48, 24, 3, 1, use_se=True, activation="HS")
    assert article.se.excite.out_channels == 24 and paper.block[2].fc2.out_channels == 48
    assert article.shortcut is not None and not paper.use_res_connect
    with pytest.raises(ValueError, match="squeeze"):
        ArticleMobileV3Bottleneck(16, 48, 32, 24, 3)


# ----------------------------------------------------------------------------- counts
def test_article_parameter_counts_follow_the_articles_and_the_papers_formulas():
    # the article's own numbers: (3*3*3 + 1) * 64 and 3*3*3 + (1*1*3 + 1) * 64
    assert _params(_tf.TFConv2d(3, 64, 3)) == 1792
    assert _params(ArticleSeparableConv2d(3, 64, 3)) == 283
    assert _params(ArticleDepthwiseConvBN(3, 3)) == 27 + 3  # slim adds a bias: not 27
    # residual v1, in=c, out=o: three convs with biases, three BNs (+ projection and its BN)
    c, o = 32, 64
    expected = (c * o + o) + (9 * o * o + o) + (o * o + o) + 3 * 2 * o + (c * o + o) + 2 * o
    assert _params(ArticleResidualBlock(c, o)) == expected
    # the paper's bottleneck with planes p = o / 4: 1x1, 3x3, 1x1 without bias, 3 BNs, projection + BN
    p = o // 4
    assert _params(PaperBottleneck(c, p)) == c * p + 9 * p * p + p * o + 2 * (p + p + o) + c * o + 2 * o
    # SE: the article's two dense layers have no biases, the paper's 1x1 convs do
    assert _params(ArticleSEBlock(96, 4)) == 2 * 96 * 24
    assert _params(PaperSqueezeExcitation(96, 24)) == 2 * 96 * 24 + 24 + 96


def test_every_block_pair_runs_forward_and_backward_with_matching_shapes():
    for pair in BLOCKS:
        article, paper = pair.build()
        shape = pair.input_shape[:2] + (8, 8)
        outputs = []
        for block in (article, paper):
            x = minicnn.randn(*shape, requires_grad=True)
            y = block(x)
            y.sum().backward()
            assert x.grad is not None and np.isfinite(x.grad).all(), pair.name
            outputs.append(y.shape)
        assert outputs[0] == outputs[1], pair.name
        params, macs, out = counts(article, shape)
        assert params == _params(article) and out == outputs[0] and macs > 0


def test_tf1_batch_norm_in_inference_mode_is_almost_the_identity():
    x = minicnn.randn(4, 8, 5, 5)
    y = _tf.batch_norm(8).eval()(x)
    np.testing.assert_allclose(y.numpy(), x.numpy() / np.sqrt(1 + 1e-3), rtol=1e-6)
