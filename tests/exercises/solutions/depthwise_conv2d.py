def _taps(x_pad, k, stride, h_out, w_out):
    for u in range(k):
        for v in range(k):
            yield u, v, (slice(None), slice(None), slice(u, u + stride * (h_out - 1) + 1, stride),
                         slice(v, v + stride * (w_out - 1) + 1, stride))


def depthwise_conv2d_forward(input, weight, stride=1, padding=0):
    k = weight.shape[2]
    h_out = (input.shape[2] + 2 * padding - k) // stride + 1
    w_out = (input.shape[3] + 2 * padding - k) // stride + 1
    x_pad = np.pad(input, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    output = np.zeros(input.shape[:2] + (h_out, w_out))
    for u, v, window in _taps(x_pad, k, stride, h_out, w_out):
        output += x_pad[window] * weight[None, :, 0, u, v, None, None]
    return output


def depthwise_conv2d_backward(grad_output, input, weight, stride=1, padding=0):
    k = weight.shape[2]
    h_out, w_out = grad_output.shape[2:]
    x_pad = np.pad(input, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    grad_x_pad = np.zeros_like(x_pad)
    grad_weight = np.zeros_like(weight)
    for u, v, window in _taps(x_pad, k, stride, h_out, w_out):
        grad_weight[:, 0, u, v] = (grad_output * x_pad[window]).sum(axis=(0, 2, 3))
        grad_x_pad[window] += grad_output * weight[None, :, 0, u, v, None, None]
    grad_input = grad_x_pad[:, :, padding:padding + input.shape[2], padding:padding + input.shape[3]]
    return grad_input, grad_weight
