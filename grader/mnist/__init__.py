"""a6 data sets (MNIST / Fashion-MNIST) and accuracy scoring."""
