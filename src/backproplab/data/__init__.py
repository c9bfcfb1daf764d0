"""Datasets: small seeded 2-D toy sets (:mod:`backproplab.data.toy`)."""
