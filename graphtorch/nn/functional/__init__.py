"""`gt.nn.functional`: PyTorch's functional API, every name imported here from its part.

- `activations.py`: activations, softmax, dropout, linear/bilinear, normalize, distances;
- `losses.py`: the classification and regression losses; `margin_losses.py`: the margin
  and embedding losses; `class_margin_losses.py`: multi_margin_loss,
  multilabel_margin_loss; `likelihood_losses.py`: poisson_nll_loss, gaussian_nll_loss;
  `ctc.py`: ctc_loss; `conv_tbc.py`: conv_tbc;
- `resampling.py`: interpolate, upsample, pixel (un)shuffle; `grid_sampling.py`:
  affine_grid, grid_sample;
- `attention.py`: scaled_dot_product_attention, multi_head_attention_forward;
- `gumbel.py`: gumbel_softmax; `lp_pooling.py`: lp_pool1d/2d/3d; `unpooling.py`:
  max_unpool1d/2d/3d; `fractional_pooling.py`: fractional_max_pool2d/3d;
- `sliding_blocks.py`: unfold/fold (im2col/col2im); `channels.py`: local_response_norm,
  channel_shuffle;
- convolution, pooling and normalization are the functions behind torch.conv2d & co.
  (`graphtorch/functions/nn_ops.py`), embedding/one_hot/pad those of
  `graphtorch/functions/movement.py`.
"""

from __future__ import annotations

from ...functions.contraction import pdist
from ...functions.movement import embedding, one_hot, pad
from ...functions.nn_ops import (
                                 adaptive_avg_pool1d,
                                 adaptive_avg_pool2d,
                                 adaptive_avg_pool3d,
                                 adaptive_max_pool1d,
                                 adaptive_max_pool1d_with_indices,
                                 adaptive_max_pool2d,
                                 adaptive_max_pool2d_with_indices,
                                 adaptive_max_pool3d,
                                 adaptive_max_pool3d_with_indices,
                                 avg_pool1d,
                                 avg_pool2d,
                                 avg_pool3d,
                                 batch_norm,
                                 conv1d,
                                 conv2d,
                                 conv3d,
                                 conv_transpose1d,
                                 conv_transpose2d,
                                 conv_transpose3d,
                                 group_norm,
                                 instance_norm,
                                 layer_norm,
                                 max_pool1d,
                                 max_pool1d_with_indices,
                                 max_pool2d,
                                 max_pool2d_with_indices,
                                 max_pool3d,
                                 max_pool3d_with_indices,
                                 rms_norm,
)
from .activations import (
                                 alpha_dropout,
                                 bilinear,
                                 celu,
                                 celu_,
                                 cosine_similarity,
                                 dropout,
                                 dropout1d,
                                 dropout2d,
                                 dropout3d,
                                 elu,
                                 elu_,
                                 feature_alpha_dropout,
                                 gelu,
                                 glu,
                                 hardshrink,
                                 hardsigmoid,
                                 hardswish,
                                 hardtanh,
                                 hardtanh_,
                                 leaky_relu,
                                 leaky_relu_,
                                 linear,
                                 log_softmax,
                                 logsigmoid,
                                 mish,
                                 normalize,
                                 pairwise_distance,
                                 prelu,
                                 relu,
                                 relu6,
                                 relu_,
                                 rrelu,
                                 rrelu_,
                                 selu,
                                 selu_,
                                 sigmoid,
                                 silu,
                                 softmax,
                                 softmin,
                                 softplus,
                                 softshrink,
                                 softsign,
                                 tanh,
                                 tanhshrink,
                                 threshold,
                                 threshold_,
)
from .attention import multi_head_attention_forward, scaled_dot_product_attention
from .class_margin_losses import multi_margin_loss, multilabel_margin_loss
from .channels import channel_shuffle, local_response_norm, native_channel_shuffle
from .conv_tbc import conv_tbc
from .ctc import ctc_loss
from .fractional_pooling import (
                                 fractional_max_pool2d,
                                 fractional_max_pool2d_with_indices,
                                 fractional_max_pool3d,
                                 fractional_max_pool3d_with_indices,
)
from .grid_sampling import affine_grid, grid_sample
from .grouped_mm import (ScalingType, SwizzleType, grouped_mm, scaled_grouped_mm,
                         scaled_mm)
from .gumbel import gumbel_softmax
from .likelihood_losses import gaussian_nll_loss, poisson_nll_loss
from .linear_cross_entropy import linear_cross_entropy
from .lp_pooling import lp_pool1d, lp_pool2d, lp_pool3d
from .losses import (
                                 binary_cross_entropy,
                                 binary_cross_entropy_with_logits,
                                 cross_entropy,
                                 huber_loss,
                                 kl_div,
                                 l1_loss,
                                 mse_loss,
                                 nll_loss,
                                 smooth_l1_loss,
)
from .margin_losses import (
                                 cosine_embedding_loss,
                                 hinge_embedding_loss,
                                 margin_ranking_loss,
                                 multilabel_soft_margin_loss,
                                 soft_margin_loss,
                                 triplet_margin_loss,
                                 triplet_margin_with_distance_loss,
)
from .resampling import (
                                 interpolate,
                                 pixel_shuffle,
                                 pixel_unshuffle,
                                 upsample,
                                 upsample_bilinear,
                                 upsample_nearest,
)
from .sliding_blocks import fold, unfold
from .sparse import embedding_bag
from .unpooling import max_unpool1d, max_unpool2d, max_unpool3d

__all__ = ["ScalingType", "SwizzleType", "grouped_mm", "linear_cross_entropy",
           "scaled_grouped_mm", "scaled_mm", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices",
    "alpha_dropout", "avg_pool1d", "avg_pool2d", "avg_pool3d", "batch_norm", "bilinear",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "celu", "conv1d", "conv2d",
    "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "cosine_similarity",
    "cross_entropy", "dropout", "dropout1d", "dropout2d", "dropout3d", "elu", "elu_", "embedding",
    "embedding_bag",
    "feature_alpha_dropout", "gelu", "glu", "group_norm", "hardshrink", "hardsigmoid",
    "hardswish", "hardtanh", "hardtanh_", "huber_loss", "instance_norm", "interpolate", "kl_div",
    "l1_loss", "layer_norm", "leaky_relu", "leaky_relu_", "linear", "log_softmax", "logsigmoid",
    "max_pool1d", "max_pool1d_with_indices", "max_pool2d", "max_pool2d_with_indices",
    "max_pool3d", "max_pool3d_with_indices", "mish", "mse_loss", "multi_head_attention_forward",
    "nll_loss", "normalize", "one_hot", "pad", "pairwise_distance", "pixel_shuffle",
    "pixel_unshuffle", "prelu", "relu", "relu6", "relu_", "rms_norm", "rrelu",
    "scaled_dot_product_attention", "selu", "sigmoid", "silu", "smooth_l1_loss", "softmax",
    "softmin", "softplus", "softshrink", "softsign", "tanh", "tanhshrink", "threshold",
    "upsample", "upsample_bilinear", "upsample_nearest", "cosine_embedding_loss",
    "gaussian_nll_loss", "hinge_embedding_loss", "margin_ranking_loss",
    "multilabel_soft_margin_loss", "poisson_nll_loss", "soft_margin_loss",
    "triplet_margin_loss", "affine_grid", "grid_sample", "channel_shuffle", "fold",
    "local_response_norm", "native_channel_shuffle", "unfold", "celu_", "rrelu_", "selu_",
    "threshold_", "gumbel_softmax", "pdist", "multi_margin_loss", "multilabel_margin_loss",
    "triplet_margin_with_distance_loss", "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_unpool1d",
    "max_unpool2d", "max_unpool3d", "ctc_loss", "fractional_max_pool2d",
    "fractional_max_pool2d_with_indices", "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices", "conv_tbc"]
