"""JSON Schemas of recorded traffic: inferred, checked, and used to answer the unrecorded."""
