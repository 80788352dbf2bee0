"""Content codings: decode what servers send, re-encode the same bytes every time."""

from __future__ import annotations

import gzip
import random
import zlib

import brotli
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from virt.encoding import (
    MAX_LAYERS,
    BodyTooLarge,
    CodingError,
    MiB,
    decode,
    decode_body,
    encode,
    normalize_coding,
)

BODY = b'{"items": [' + b", ".join(b'{"id": %d, "name": "item"}' % n for n in range(200)) + b"]}"

CODINGS = ["gzip", "x-gzip", "deflate", "br", "zstd"]


@pytest.mark.parametrize("coding", CODINGS)
def test_decode_undoes_encode(coding: str) -> None:
    encoded = encode(BODY, coding)
    assert encoded != BODY
    assert decode(encoded, coding) == BODY


@settings(deadline=None)  # correctness, not speed
@given(data=st.binary(max_size=4096), coding=st.sampled_from(CODINGS))
def test_decode_undoes_encode_for_any_bytes(data: bytes, coding: str) -> None:
    assert decode(encode(data, coding), coding) == data


@pytest.mark.parametrize("coding", CODINGS)
def test_encode_is_deterministic(coding: str) -> None:
    assert encode(BODY, coding) == encode(bytes(BODY), coding)


def test_gzip_encoding_carries_no_timestamp() -> None:
    # bytes 4..8 of a gzip member are its mtime: 0 keeps re-encoded bodies identical across runs
    assert encode(BODY, "gzip")[4:8] == b"\0\0\0\0"


@pytest.mark.parametrize(
    ("coding", "wire"),
    [
        ("gzip", gzip.compress(BODY, mtime=1_700_000_000)),
        ("deflate", zlib.compress(BODY, 9)),
        ("br", brotli.compress(BODY, quality=11)),
        ("zstd", zstandard.ZstdCompressor(level=19).compress(BODY)),
    ],
    ids=["gzip", "deflate-zlib", "br", "zstd"],
)
def test_decode_reads_what_other_encoders_wrote(coding: str, wire: bytes) -> None:
    assert decode(wire, coding) == BODY


def test_deflate_also_reads_raw_deflate_without_a_zlib_header() -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw = compressor.compress(BODY) + compressor.flush()
    with pytest.raises(zlib.error):
        zlib.decompress(raw)  # the bytes really lack the header
    assert decode(raw, "deflate") == BODY


def test_zstd_reads_frames_without_a_content_size() -> None:
    # streaming servers write frames that do not say how long they are
    wire = zstandard.ZstdCompressor(write_content_size=False).compress(BODY)
    assert decode(wire, "zstd") == BODY


@pytest.mark.parametrize(
    ("header", "coding"),
    [("gzip", "gzip"), (" GZip ", "gzip"), ("br", "br"), ("identity", None), ("", None)],
)
def test_decode_body_returns_the_decoded_body_and_the_coding(
    header: str, coding: str | None
) -> None:
    wire = encode(BODY, coding) if coding else BODY
    assert decode_body(wire, header) == (BODY, coding)


def test_decode_body_without_content_encoding_keeps_the_bytes() -> None:
    assert decode_body(b"\x1f\x8b not really", None) == (b"\x1f\x8b not really", None)


@pytest.mark.parametrize("header", ["gzip", "deflate", "br", "zstd", "gzip, br", "compress"])
def test_decode_body_keeps_a_body_that_does_not_decode_as_it_came(header: str) -> None:
    corrupt = b"\x1f\x8b\x08\x00 this is not what the header says \xff\xfe"
    assert decode_body(corrupt, header) == (corrupt, None)


def test_decode_body_of_an_empty_body_claims_no_coding() -> None:
    assert decode_body(b"", "gzip") == (b"", None)


@pytest.mark.parametrize("coding", ["compress", "gzip, snappy", "snappy"])
def test_unknown_coding_raises_coding_error(coding: str) -> None:
    with pytest.raises(CodingError, match="unknown content coding"):
        encode(BODY, coding)
    with pytest.raises(CodingError, match="unknown content coding"):
        decode(BODY, coding)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_corrupt_data_raises_coding_error_naming_the_coding(coding: str) -> None:
    with pytest.raises(CodingError, match=f"not valid {coding}"):
        decode(b"\x00\x01 definitely not compressed", coding)


def test_normalize_coding_maps_identity_spellings_to_none() -> None:
    assert [normalize_coding(v) for v in (None, "", "identity", " None ", "BR")] == [
        None,
        None,
        None,
        None,
        "br",
    ]


def test_zstd_reads_every_frame_of_a_multi_frame_body() -> None:
    compressor = zstandard.ZstdCompressor()
    wire = compressor.compress(BODY[:1000]) + compressor.compress(BODY[1000:])
    assert decode(wire, "zstd") == BODY


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_a_truncated_body_raises_coding_error(coding: str) -> None:
    wire = encode(BODY, coding)
    with pytest.raises(CodingError, match=f"not valid {coding}"):
        decode(wire[: len(wire) // 2], coding)


def test_decode_body_keeps_a_truncated_zstd_body_as_it_came() -> None:
    wire = encode(BODY, "zstd")[:-8]
    assert decode_body(wire, "zstd") == (wire, None)


def test_normalize_coding_keeps_a_stack_in_order() -> None:
    assert normalize_coding("GZip,  br") == "gzip, br"
    assert normalize_coding("identity, gzip") == "gzip"


def test_a_stacked_coding_is_decoded_layer_by_layer() -> None:
    wire = gzip.compress(gzip.compress(BODY))
    assert decode_body(wire, "gzip, gzip") == (BODY, "gzip, gzip")
    wire = brotli.compress(gzip.compress(BODY))
    assert decode_body(wire, "gzip, br") == (BODY, "gzip, br")


def test_a_stacked_coding_re_encodes_to_what_decodes_again() -> None:
    assert decode(encode(BODY, "gzip, br"), "gzip, br") == BODY


def test_more_stacked_codings_than_allowed_are_refused_not_kept_encoded() -> None:
    coding = ", ".join(["gzip"] * (MAX_LAYERS + 1))
    wire = encode(BODY, coding)
    with pytest.raises(BodyTooLarge, match="content codings"):
        decode_body(wire, coding)


def _bomb(coding: str, size: int) -> bytes:
    """`size` zero bytes in `coding`, compressed as hard as the coding allows."""
    if coding == "gzip":
        return gzip.compress(bytes(size), compresslevel=9)
    if coding == "deflate":
        return zlib.compress(bytes(size), 9)
    if coding == "br":
        return bytes(brotli.compress(bytes(size), quality=11))
    compressor = zstandard.ZstdCompressor(level=19).compressobj()
    return compressor.compress(bytes(size)) + compressor.flush()


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_a_body_decoding_past_the_limit_is_refused(coding: str) -> None:
    noise = random.Random(0).randbytes(3 * MiB)  # barely compresses: the ratio stays low
    wire = bytes(brotli.compress(noise, quality=1)) if coding == "br" else encode(noise, coding)
    with pytest.raises(BodyTooLarge, match="more than 2 MiB") as e:
        decode_body(wire, coding, limit=2 * MiB)
    assert e.value.limit == 2 * MiB


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_a_body_within_the_limit_but_past_the_ratio_is_refused(coding: str) -> None:
    wire = _bomb(coding, 8 * MiB)
    with pytest.raises(BodyTooLarge, match="times its"):
        decode(wire, coding)


def test_a_small_body_is_never_refused_for_its_ratio() -> None:
    assert decode(gzip.compress(bytes(MiB)), "gzip") == bytes(MiB)


def test_a_stacked_gzip_bomb_is_refused_within_its_bound() -> None:
    # 256 MiB of zeros in two layers of gzip is a few KB on the wire
    inner = zlib.compressobj(9, zlib.DEFLATED, 31)
    layer = b"".join(inner.compress(bytes(MiB)) for _ in range(256)) + inner.flush()
    wire = gzip.compress(layer, compresslevel=9)
    assert len(wire) < 10_000
    with pytest.raises(BodyTooLarge):
        decode_body(wire, "gzip, gzip")


@pytest.mark.parametrize("coding", ["gzip", "zstd"])
def test_a_body_of_several_members_decodes_whole(coding: str) -> None:
    wire = encode(BODY[:500], coding) + encode(BODY[500:], coding)
    assert decode(wire, coding) == BODY
