"""`gt.nn.functional` (placeholder: filled by the softmax/activation author)."""
