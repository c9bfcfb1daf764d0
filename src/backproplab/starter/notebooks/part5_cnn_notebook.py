# %% [markdown]
# # Part 5: convolution, pooling, batch norm, dropout (exercise 7.8 and the CNN practice)
#
# Write these in **`part5_cnn.py`**, next to this notebook. Images are `x: (N, C, H, W)` and kernels
# `w: (C_out, C_in, KH, KW)`, as in PyTorch.
#
# - `conv2d_out(H, W, KH, KW, stride, padding)`: $H_{out} = \lfloor (H + 2p - K_H) / s \rfloor + 1$,
#   and the same for $W_{out}$.
# - `conv2d_forward(x, w, b, stride, padding)`, a cross-correlation (the kernel is not flipped):
#
#   $$\mathrm{out}[n, o, i, j] = b[o] + \sum_{c, p, q} w[o, c, p, q]\; x_{pad}[n, c, i s + p, j s + q]$$
#
# - `conv2d_backward(dout, x, w, stride, padding)`: each output used one window of `x_pad`, so it
#   sends `dout * w` back to that window of `dx_pad`, and `dout * window` to `dw`; `db` sums `dout`.
# - `maxpool2d_forward(x, kernel, stride)` and `maxpool2d_backward`: the max of each window, and its
#   gradient routed to where the max was.
# - `batchnorm_forward(x, gamma, beta)` for `x: (N, D)`: $\hat x = (x - \mu) / \sqrt{\sigma^2 + \epsilon}$ with the
#   batch's mean and variance, `out = gamma * x_hat + beta`; and `batchnorm_backward`.
# - `dropout_forward(x, p, rng)`, inverted dropout: `mask` is $1 / (1 - p)$ where a value is kept, 0 where it
#   is dropped, and `out = x * mask`; `dropout_backward(dout, mask)` is `dout * mask`.
#
# Run the cells from the top after each edit: the first one re-reads your file.

# %%
# %matplotlib inline
import importlib

import part5_cnn as mine

from backproplab.starter import check_part, pictures

importlib.reload(mine)  # re-read part5_cnn.py after each edit

# %% [markdown]
# ## Check your functions
#
# The output sizes of exercise 7.8, your convolution and pooling against PyTorch (if it is installed),
# dropout's and batch norm's forward passes, and each backward pass (batch norm's and convolution's
# against finite differences, with a random upstream gradient).

# %%
results = check_part(5)

# %% [markdown]
# ## The picture
#
# A feature map is a convolution's output for one kernel. Two 3x3 edge kernels (Sobel) light up the
# vertical and the horizontal edges of the input; ReLU keeps the positive side, and 2x2 max pooling
# halves the size but keeps each strong response.

# %%
pictures.feature_maps(mine)
