"""PyTorch training of the CNNs that backproplab.cnn runs in NumPy."""
