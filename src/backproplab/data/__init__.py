"""Datasets: seeded 2-D toy sets (:mod:`backproplab.data.toy`), the IDX file format
(:mod:`backproplab.data.idx`) and image datasets, 8x8 digits, MNIST and Fashion-MNIST
(:mod:`backproplab.data.images`)."""
