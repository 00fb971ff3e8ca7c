def max_pool2d_backward(grad_output, input, kernel_size, stride, padding=0):
    k = kernel_size
    h_out, w_out = grad_output.shape[2:]
    x_pad = np.pad(input, ((0, 0), (0, 0), (padding, padding), (padding, padding)),
                   constant_values=-np.inf)
    windows = [(u, v) for u in range(k) for v in range(k)]
    taps = np.stack([x_pad[:, :, u:u + stride * (h_out - 1) + 1:stride,
                           v:v + stride * (w_out - 1) + 1:stride] for u, v in windows])
    winner = taps.argmax(axis=0)
    grad_x_pad = np.zeros_like(x_pad)
    for t, (u, v) in enumerate(windows):
        grad_x_pad[:, :, u:u + stride * (h_out - 1) + 1:stride,
                   v:v + stride * (w_out - 1) + 1:stride] += grad_output * (winner == t)
    return grad_x_pad[:, :, padding:padding + input.shape[2], padding:padding + input.shape[3]]
