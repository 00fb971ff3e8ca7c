def conv2d_backward(grad_output, input, weight, bias, stride=1, padding=0):
    k = weight.shape[2]
    h_out, w_out = grad_output.shape[2:]
    x_pad = np.pad(input, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    grad_x_pad = np.zeros_like(x_pad)
    grad_weight = np.zeros_like(weight)
    for u in range(k):
        for v in range(k):
            rows = slice(u, u + stride * (h_out - 1) + 1, stride)
            cols = slice(v, v + stride * (w_out - 1) + 1, stride)
            grad_weight[:, :, u, v] = np.einsum("nohw,nchw->oc", grad_output, x_pad[:, :, rows, cols])
            grad_x_pad[:, :, rows, cols] += np.einsum("nohw,oc->nchw", grad_output, weight[:, :, u, v])
    grad_input = grad_x_pad[:, :, padding:padding + input.shape[2], padding:padding + input.shape[3]]
    return grad_input, grad_weight, grad_output.sum(axis=(0, 2, 3))
