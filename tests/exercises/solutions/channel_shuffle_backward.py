def channel_shuffle_backward(grad_output, input, groups):
    return channel_shuffle_forward(grad_output, input.shape[1] // groups)
