"""The admin API under /__virt/."""
