"""The bundled upstream and the `make demo` walk-through."""
