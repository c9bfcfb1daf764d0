# %% [markdown]
# # Part 3: a two-layer network, forward and backward (exercises 7.4, 7.5, XOR)
#
# Write `forward` and `backward` in **`part3_network.py`**, next to this notebook. It imports
# `relu`, `relu_deriv` and `sigmoid` from your part 1.
#
# **Forward**, for `X: (n, d_in)`:
#
# $$Z_1 = X W_1 + b_1,\quad A_1 = \mathrm{relu}(Z_1),\quad Z_2 = A_1 W_2 + b_2,\quad P = \sigma(Z_2),
# \quad L = \mathrm{BCE}(y, P)$$
#
# **Backward**, the chain rule from the loss down (sigmoid and BCE together give a simple start):
#
# $$dZ_2 = \frac{P - y}{n},\quad dW_2 = A_1^\top dZ_2,\quad db_2 = \textstyle\sum_{\text{rows}} dZ_2,
# \quad dA_1 = dZ_2 W_2^\top,$$
#
# $$dZ_1 = dA_1 \odot \mathrm{relu}'(Z_1),\quad dW_1 = X^\top dZ_1,\quad db_1 = \textstyle\sum_{\text{rows}} dZ_1$$
#
# Each gradient has its parameter's shape: a shape mismatch usually means a missing transpose.
# `backproplab trace --impl part3_network.py` prints every one of these steps with the numbers.
#
# Run the cells from the top after each edit: the first one re-reads your file.

# %%
# %matplotlib inline
import importlib

import part1_activations
import part3_network as mine

from backproplab.starter import check_part, pictures

importlib.reload(part1_activations)  # re-read your files after each edit: part 3 uses part 1's functions
importlib.reload(mine)

# %% [markdown]
# ## Check your functions
#
# `forward` against the formula, `backward` against central differences of the loss, then training
# runs with your gradients: memorising 16 random points (the overfit test, 7.5, with Adam and with
# plain SGD) and solving XOR.

# %%
results = check_part(3)

# %% [markdown]
# ## The picture
#
# XOR is not linearly separable: no straight line puts (0, 1) and (1, 0) on one side and (0, 0) and
# (1, 1) on the other. Your network, trained here by plain gradient descent
# ($W \leftarrow W - \eta\, dW$ for each parameter), bends its decision boundary around them.

# %%
pictures.xor_boundary(mine)
