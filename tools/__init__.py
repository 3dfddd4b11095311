"""Scripts that build the data shipped in the package (run by hand, checked by tests)."""
