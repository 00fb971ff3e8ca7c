def squeeze_excitation_backward(grad_output, input, fc1_weight, fc1_bias, fc2_weight, fc2_bias):
    h, w = input.shape[2:]
    z = input.mean(axis=(2, 3))
    u = z @ fc1_weight.T + fc1_bias
    a = np.maximum(u, 0)
    e = 1 / (1 + np.exp(-(a @ fc2_weight.T + fc2_bias)))
    grad_e = (grad_output * input).sum(axis=(2, 3))
    grad_t = grad_e * e * (1 - e)
    grad_u = (grad_t @ fc2_weight) * (u > 0)
    grad_z = grad_u @ fc1_weight
    grad_input = grad_output * e[:, :, None, None] + grad_z[:, :, None, None] / (h * w)
    return grad_input, grad_u.T @ z, grad_u.sum(axis=0), grad_t.T @ a, grad_t.sum(axis=0)
