"""Finding the recording that answers a request."""
