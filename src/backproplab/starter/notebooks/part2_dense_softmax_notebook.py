# %% [markdown]
# # Part 2: a dense layer, a stable softmax, cross-entropy (exercises 7.2, 7.3)
#
# Write these in **`part2_dense_softmax.py`**, next to this notebook. Shapes are batch-first: one
# example per row.
#
# - `dense_forward(X, W, b)`: $Z = XW + b$ with `X: (n, d_in)`, `W: (d_in, d_out)`, `b: (d_out,)`,
#   `Z: (n, d_out)`. Row $i$ is `X[i] @ W + b`.
# - `logsumexp(z, axis)`: $\log \sum_j e^{z_j} = m + \log \sum_j e^{z_j - m}$ with $m = \max_j z_j$.
#   Subtracting the max keeps every exponent $\le 0$: nothing overflows.
# - `softmax(z, axis)`: $p_k = \dfrac{e^{z_k}}{\sum_j e^{z_j}} = e^{z_k - \mathrm{logsumexp}(z)}$.
# - `categorical_cross_entropy(y_true, y_pred)`: the mean over the batch of $-\sum_k y_k \log p_k$,
#   with `y_pred` clipped to `[eps, 1]` so that $\log 0$ never happens.
# - `bce(y, p)`: the mean binary cross-entropy $-\big(y \log p + (1 - y) \log(1 - p)\big)$, with `p`
#   clipped to `[eps, 1 - eps]` (exercise 7.4 uses it as its loss).
#
# Run the cells from the top after each edit: the first one re-reads your file.

# %%
# %matplotlib inline
import importlib

import part2_dense_softmax as mine

from backproplab.starter import check_part, pictures

importlib.reload(mine)  # re-read part2_dense_softmax.py after each edit

# %% [markdown]
# ## Check your functions
#
# The dense layer against a loop over the rows, softmax and logsumexp at `|z| = 1e4`, and both
# losses, including a probability of exactly 0.

# %%
results = check_part(2)

# %% [markdown]
# ## The picture
#
# The softmax turns scores (logits) into probabilities: positive, summing to 1, the largest score
# the most likely. Adding a constant to every score changes nothing ($e^{z + c} / \sum e^{z_j + c}$):
# the dots show `softmax(z + 1000)`, which a naive `exp(z) / sum(exp(z))` turns into NaN.

# %%
pictures.softmax(mine)
