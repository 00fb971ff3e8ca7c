def batch_norm_backward(grad_output, input, weight, bias, eps=1e-5):
    axes = (0, 2, 3)
    mean = input.mean(axis=axes, keepdims=True)
    s = np.sqrt(input.var(axis=axes, keepdims=True) + eps)
    x_hat = (input - mean) / s
    gamma = weight[None, :, None, None]
    grad_input = gamma / s * (grad_output - grad_output.mean(axis=axes, keepdims=True)
                              - x_hat * (grad_output * x_hat).mean(axis=axes, keepdims=True))
    return grad_input, (grad_output * x_hat).sum(axis=axes), grad_output.sum(axis=axes)
