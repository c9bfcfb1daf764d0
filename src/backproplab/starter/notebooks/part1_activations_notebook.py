# %% [markdown]
# # Part 1: activations and their derivatives (exercise 7.1)
#
# A neuron computes `z = x · w + b` and then an **activation** `a = f(z)`. Backpropagation needs
# each activation's derivative `f'(z)`. Write them in **`part1_activations.py`**, next to this
# notebook:
#
# | function | f(z) | f'(z) |
# |---|---|---|
# | `sigmoid`, `sigmoid_deriv` | $\sigma(z) = \dfrac{1}{1 + e^{-z}}$ | $\sigma(z)\,(1 - \sigma(z))$ |
# | `relu`, `relu_deriv` | $\max(0, z)$ | $1$ if $z > 0$, else $0$ |
# | `tanh`, `tanh_deriv` | $\tanh z$ | $1 - \tanh^2 z$ |
# | `leaky_relu`, `leaky_relu_deriv` | $z$ if $z > 0$, else $\alpha z$ | $1$ if $z > 0$, else $\alpha$ |
#
# and `num_derivative(f, z, h)`, the **central difference**
# $\dfrac{f(z + h) - f(z - h)}{2h}$, whose error shrinks like $h^2$: it checks any derivative you write.
#
# Every function works element by element on an array `z` of any shape. `sigmoid` must stay finite,
# without an overflow warning, at `z = -1e4`: `exp(1e4)` overflows, so clip `z` or use `exp(-|z|)`.
#
# Run the cells from the top after each edit: the first one re-reads your file.

# %%
# %matplotlib inline
import importlib

import part1_activations as mine

from backproplab.starter import check_part, pictures

importlib.reload(mine)  # re-read part1_activations.py after each edit

# %% [markdown]
# ## Check your functions
#
# The checks of exercise 7.1: values, no overflow, and each derivative against central
# differences. A function that still raises `NotImplementedError` is "not attempted".

# %%
results = check_part(1)

# %% [markdown]
# ## The picture
#
# Your activations (left) and derivatives (right). The dots are `num_derivative` of each activation:
# they sit on the curves when both are right. Notice that $\sigma'(z) \le 0.25$: each sigmoid layer
# shrinks the gradient at least four times, which is why deep networks use ReLU.

# %%
pictures.activations(mine)
