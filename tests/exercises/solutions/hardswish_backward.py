def hardswish_backward(grad_output, input):
    slope = np.where(input <= -3, 0.0, np.where(input >= 3, 1.0, (2 * input + 3) / 6))
    return grad_output * slope
