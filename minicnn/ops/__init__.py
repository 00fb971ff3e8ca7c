"""The operators, one module per family; each is a Function plus its functional wrapper.

================  =============================================================
module            operators
================  =============================================================
elementwise       add sub mul div neg pow exp log sqrt abs clamp maximum minimum where
reduce            sum mean var std norm max min amax amin argmax argmin
shape             reshape flatten permute transpose squeeze unsqueeze expand repeat cat stack split
                  chunk pad index
select            gather index_select masked_fill topk sort (Index and Where with built indices)
compare           eq ne lt le gt ge all any (bool results, no gradient)
linalg            matmul linear
conv              conv2d conv_transpose2d
fold              unfold fold (im2col and col2im)
pooling           max_pool2d avg_pool2d adaptive_avg_pool2d adaptive_max_pool2d
norm              batch_norm
per_sample_norm   layer_norm group_norm instance_norm (batch norm's core on other views)
sync_norm         sync_batch_norm (statistics over every rank: SyncBatchNorm)
shuffle           channel_shuffle pixel_shuffle pixel_unshuffle
resample          interpolate
activation        relu relu6 leaky_relu elu sigmoid tanh hardsigmoid hardswish silu gelu softmax log_softmax
softplus          softplus mish
prelu             prelu (learned negative slope)
normalize         normalize (unit p-norm vectors)
dropout           dropout dropout2d
loss              cross_entropy nll_loss mse_loss binary_cross_entropy_with_logits
loss_regression   l1_loss smooth_l1_loss huber_loss
loss_probability  binary_cross_entropy kl_div
one_hot           one_hot
================  =============================================================
"""
