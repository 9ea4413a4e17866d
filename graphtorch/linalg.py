"""`gt.linalg` (placeholder: filled by the linalg author)."""
