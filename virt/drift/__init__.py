"""Drift: how the live API differs from its recordings, told as contract changes by route.

virt.drift.shape compares JSON bodies by their shape, virt.drift.headers the headers that
matter, virt.drift.send re-sends recorded requests with credentials from the environment,
virt.drift.check runs a whole check (and --update), virt.drift.report writes it for people and
for CI, virt.drift.contract checks recordings against an OpenAPI document and
virt.drift.watch compares while recording.
"""
