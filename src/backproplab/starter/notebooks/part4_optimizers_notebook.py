# %% [markdown]
# # Part 4: SGD, Momentum, Adam, and gradient clipping (exercises 7.6, 7.7)
#
# Write these in **`part4_optimizers.py`**, next to this notebook. The optimizers minimise
# $f(w) = (w - 3)^2$, with gradient $g = f'(w) = 2(w - 3)$ and minimum $w = 3$; each returns the
# final `w` after `steps` steps from `w0`.
#
# - `sgd`: $w \leftarrow w - \eta\, g$
# - `momentum` (heavy ball): $v \leftarrow \beta v + g,\ w \leftarrow w - \eta\, v$, with $v = 0$ at first
# - `adam`, at steps $t = 1, 2, \dots$, with $m = v = 0$ at first:
#
#   $$m \leftarrow \beta_1 m + (1 - \beta_1)\, g, \qquad v \leftarrow \beta_2 v + (1 - \beta_2)\, g^2$$
#
#   $$\hat m = \frac{m}{1 - \beta_1^t}, \qquad \hat v = \frac{v}{1 - \beta_2^t}, \qquad
#   w \leftarrow w - \eta\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}$$
#
#   The bias correction makes the first step exactly $\eta$.
# - `clip_by_norm(g, max_norm)`: `g * (max_norm / norm(g))` when the L2 norm of `g` exceeds
#   `max_norm`, else `g` unchanged. It keeps the gradient's direction; clipping each element on its
#   own would not.
#
# Run the cells from the top after each edit: the first one re-reads your file.

# %%
# %matplotlib inline
import importlib

import part4_optimizers as mine

from backproplab.starter import check_part, pictures

importlib.reload(mine)  # re-read part4_optimizers.py after each edit

# %% [markdown]
# ## Check your functions
#
# One SGD step from 10 with $\eta = 0.1$ gives exactly 8.6; Adam's first step is exactly $\eta$;
# both reach 3; clipping keeps the direction.

# %%
results = check_part(4)

# %% [markdown]
# ## The picture
#
# The path $w_t$ of each optimizer from $w_0 = 10$. SGD shrinks the distance to 3 by the same factor
# $1 - 2\eta$ at every step; Momentum overshoots and oscillates; Adam moves about $\eta$ per step at
# first, whatever the gradient's size, and needs more than the seed's 50 steps to settle.

# %%
pictures.optimizers(mine)
