"""The seed article's building blocks, as its TensorFlow code computes them, beside the papers'.

minicnn was started from a 2020 Chinese blog post ("CNN models: ResNet, MobileNet,
DenseNet, ShuffleNet, EfficientNet", TensorFlow 1.x, NHWC). Its code departs from the
papers it explains in ways worth studying (the errata, ``docs/article-errata.md``).
This package reproduces each block as the article's code *actually computes* it,
translated to NCHW with the article's widths and TensorFlow's defaults (see
:mod:`minicnn.article._tf`), and names the paper-correct block from
:mod:`minicnn.nn.blocks` next to it. They are for study: train the paper's blocks.

==========================  ==============================  ====================  =======
article section             article block (this package)    paper block           errata
==========================  ==============================  ====================  =======
Inception                   ArticleInception                PaperInception        3
残差网络 (residual)          ArticleResidualBlock            PaperBottleneck       1
Depthwise Separable Conv    ArticleSeparableConv2d,         PaperSeparableConv2d  -
                            ArticleDepthwiseConvBN
ResNetV2                    ArticleResNetV2Block            PaperPreActBottleneck 2
Inception-ResNet            ArticleInceptionResNetA         PaperInceptionResNetA 4
DenseNet                    ArticleDenseStage               PaperDenseBlock       5
ShuffleNetV2                ArticleShuffleV2Block           PaperShuffleV2Block   6
EfficientNet (MobileNetV2)  ArticleInvertedResidual         PaperInvertedResidual 7
SENet / MobileNetV3 SE      ArticleSEBlock                  PaperSqueezeExcitation 8
SENet (MBConv)              ArticleMBConv                   PaperMBConv           9
MobileNetV3                 ArticleMobileV3Bottleneck       PaperMobileNetV3Bottleneck 10
==========================  ==============================  ====================  =======

:data:`BLOCKS` pairs each article block with its paper block at one configuration;
:func:`counts` gives parameters and MACs (as :func:`minicnn.summary` counts them).
"""
from dataclasses import dataclass

from ._tf import hsigmoid, hswish
from .densenet import ArticleDenseStage, PaperDenseBlock
from .efficientnet import ArticleMBConv, PaperMBConv
from .inception import (ArticleInception, ArticleInceptionResNetA, PaperInception,
                        PaperInceptionResNetA)
from .mobilenet import (ArticleInvertedResidual, ArticleMobileV3Bottleneck, PaperInvertedResidual,
                        PaperMobileNetV3Bottleneck)
from .residual import (ArticleResidualBlock, ArticleResNetV2Block, PaperBottleneck,
                       PaperPreActBottleneck)
from .se import ArticleSEBlock, PaperSqueezeExcitation
from .separable import (ArticleDepthwiseConv, ArticleDepthwiseConvBN, ArticleSeparableConv2d,
                        PaperSeparableConv2d)
from .shufflenet import ArticleShuffleV2Block, PaperShuffleV2Block


@dataclass(frozen=True)
class BlockPair:
    """One article block and the paper's, built for the same input (``input_shape``)."""
    name: str
    section: str
    errata: tuple
    article: str     # how the article block is built (evaluated in this package's namespace)
    paper: str       # how the paper block is built
    input_shape: tuple

    def build(self):
        """``(article block, paper block)``, freshly initialised."""
        names = globals()
        return eval(self.article, names), eval(self.paper, names)  # noqa: S307 (own strings)


#: Each article block next to the paper's, at the article's widths (or the paper's where
#: the article's defaults are no real configuration).
BLOCKS = (
    BlockPair("Inception", "Inception", (3,), "ArticleInception(192)",
              "PaperInception(192, 64, 96, 128, 16, 32, 32)", (1, 192, 28, 28)),
    BlockPair("Residual block v1", "残差网络", (1,), "ArticleResidualBlock(256, 256, s=1)",
              "PaperBottleneck(256, 64)", (1, 256, 14, 14)),
    BlockPair("Depthwise separable conv", "Depthwise Separable Convolution", (),
              "ArticleSeparableConv2d(3, 64, 3)", "PaperSeparableConv2d(3, 64, 3, padding=1)",
              (1, 3, 300, 300)),
    BlockPair("ResNetV2 block", "ResNetV2", (2,), "ArticleResNetV2Block(256, 64, 256)",
              "PaperPreActBottleneck(256, 64)", (1, 256, 14, 14)),
    BlockPair("Inception-ResNet-A", "Inception-ResNet", (4,),
              "ArticleInceptionResNetA(input_depth=320, output_depth=320)",
              "PaperInceptionResNetA(320)", (1, 320, 35, 35)),
    BlockPair("DenseNet stage", "DenseNet", (5,), "ArticleDenseStage(64, depth=32, repeat=6)",
              "PaperDenseBlock(6, 64, bn_size=4, growth_rate=32)", (1, 64, 28, 28)),
    BlockPair("ShuffleNetV2 unit", "ShuffleNetV2", (6,), "ArticleShuffleV2Block(116, 116, 3)",
              "PaperShuffleV2Block(116, 116, 1)", (1, 116, 28, 28)),
    BlockPair("MobileNetV2 block", "EfficientNet", (7,), "ArticleInvertedResidual(24, 6, 24, 1)",
              "PaperInvertedResidual(24, 24, 1, 6)", (1, 24, 56, 56)),
    BlockPair("Squeeze-and-excitation", "SENet", (8,), "ArticleSEBlock(96, 4, gate='sigmoid')",
              "PaperSqueezeExcitation(96, 24)", (1, 96, 28, 28)),
    BlockPair("MBConv", "SENet", (9,), "ArticleMBConv(43, 4, 64, 1, 4)",
              "PaperMBConv(43, 64, 4, 3, 1)", (1, 43, 32, 32)),
    BlockPair("MobileNetV3 bottleneck", "MobileNetV3", (10,),
              "ArticleMobileV3Bottleneck(80, 480, 4, 112, 3, stride=1, relu=False, se=True)",
              "PaperMobileNetV3Bottleneck(80, 480, 112, 3, 1, use_se=True, activation='HS')",
              (1, 80, 14, 14)),
)


def counts(module, input_shape):
    """``(parameters, MACs, output shape)`` of ``module`` on an input of ``input_shape``."""
    from ..summary import summary

    report = summary(module, input_shape)
    return report.total_params, report.total_macs, tuple(report.rows[0].output_shape)


def comparison_table(pairs=BLOCKS):
    """The parameter/MAC table of every pair, as Markdown-ready text rows."""
    header = ("block", "input", "article params", "paper params", "article MACs", "paper MACs")
    rows = []
    for pair in pairs:
        article, paper = pair.build()
        a_params, a_macs, _ = counts(article, pair.input_shape)
        p_params, p_macs, _ = counts(paper, pair.input_shape)
        rows.append((pair.name, "x".join(map(str, pair.input_shape[1:])), f"{a_params:,}",
                     f"{p_params:,}", f"{a_macs:,}", f"{p_macs:,}"))
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))) for row in [header] + rows]
    return "\n".join(lines)


__all__ = ["BLOCKS", "BlockPair", "counts", "comparison_table", "hswish", "hsigmoid",
           "ArticleInception", "ArticleResidualBlock", "ArticleSeparableConv2d",
           "ArticleDepthwiseConv", "ArticleDepthwiseConvBN", "ArticleResNetV2Block",
           "ArticleInceptionResNetA", "ArticleDenseStage", "ArticleShuffleV2Block",
           "ArticleInvertedResidual", "ArticleSEBlock", "ArticleMBConv",
           "ArticleMobileV3Bottleneck", "PaperInception", "PaperBottleneck",
           "PaperSeparableConv2d", "PaperPreActBottleneck", "PaperInceptionResNetA",
           "PaperDenseBlock", "PaperShuffleV2Block", "PaperInvertedResidual",
           "PaperSqueezeExcitation", "PaperMBConv", "PaperMobileNetV3Bottleneck"]
