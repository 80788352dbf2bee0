"""Recording live traffic into a store."""
