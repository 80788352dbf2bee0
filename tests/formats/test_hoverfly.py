"""Hoverfly simulations (v1 to v5) and journals: every corpus file imports and replays itself,
each schema generation reads the same, and export writes a v5 simulation that reads back."""

from __future__ import annotations

import base64
import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.formats.corpus import (
    CORPUS,
    assert_sane,
    corpus_files,
    corpus_folders,
    replay_each_file,
    replay_in_process,
    require_corpus,
)
from virt.formats import FORMATS, WRITERS, ImportFormatError, Skipped, detect, expand
from virt.formats.hoverfly import READER, WRITER, inexact
from virt.model import (
    Headers,
    Interaction,
    Pattern,
    PatternKind,
    Request,
    RequestPattern,
    Response,
    header,
)
from virt.normalize import query_pairs

ROOT = CORPUS / "hoverfly"
JAVA = ROOT / "SpectoLabs__hoverfly-java/src/test/resources"
CORE = ROOT / "SpectoLabs__hoverfly"
BODY_DIRS = ("responses",)


def interactions_of(path: Path) -> list[Interaction]:
    return [i for i in READER.read(path) if isinstance(i, Interaction)]


def write(tmp_path: Path, doc: Any, name: str = "sim.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def v5(*pairs: dict[str, Any], version: str = "v5") -> dict[str, Any]:
    return {"data": {"pairs": list(pairs)}, "meta": {"schemaVersion": version}}


def exact(value: str) -> list[dict[str, str]]:
    return [{"matcher": "exact", "value": value}]


def pair(path: str = "/", status: int = 200, body: str = "", **request: Any) -> dict[str, Any]:
    rq = {"path": exact(path), "method": exact("GET"), "destination": exact("a.example")}
    return {"request": {**rq, **request}, "response": {"status": status, "body": body}}


def recordings_under(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*.json") if not set(p.relative_to(folder).parts) & {"responses"}
    )


def test_reader_and_writer_are_registered() -> None:
    assert FORMATS["hoverfly"] is READER
    assert WRITERS["hoverfly"] is WRITER


# --- every corpus file ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", corpus_files("hoverfly", body_dirs=BODY_DIRS))
def test_corpus_file_imports(path: Path | None) -> None:
    require_corpus()
    assert path is not None
    items = list(READER.read(path))
    assert items
    assert_sane(items, path, "hoverfly")
    assert READER.sniff(path)
    found = detect(path)
    assert found is not None and found.name == "hoverfly"


def test_body_files_are_not_recordings() -> None:
    require_corpus()
    bodies = [p for p in ROOT.rglob("responses/*") if p.is_file()]
    assert len(bodies) == 2
    assert [p for p in bodies if READER.sniff(p) or detect(p) is not None] == []


@pytest.mark.parametrize("folder", corpus_folders("hoverfly"))
def test_corpus_folder_replays_itself(folder: Path | None, tmp_path: Path) -> None:
    require_corpus()
    assert folder is not None
    count = replay_each_file(recordings_under(folder), interactions_of, tmp_path)
    print(f"hoverfly/{folder.name}: {count} interactions replayed")
    assert count > 0


def test_inexact_matchers_of_the_corpus_are_counted() -> None:
    require_corpus()
    notes = [n for p in recordings_under(ROOT) for n in inexact(p)]
    kinds = Counter(n.split(": ")[2].split(" imported")[0].split(" matched")[0] for n in notes)
    print("hoverfly inexact matchers:", dict(kinds))
    # docs' "*" destinations, hoverfly-java's header globs, a v1 template path, kopernio's path
    # and scheme
    assert kinds["glob matcher"] == 12
    assert kinds["left out (any value)"] == 36
    # those on a destination or a path are kept as patterns that replay matches
    assert sum("matched as a pattern" in n for n in notes) == 9


# --- each schema generation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "v1-simulation.json",
        "v2-simulation.json",
        "v3-simulation.json",
        "v4-simulation.json",
        "v5-simulation-without-global-actions.json",
        "v5-simulation-with-mixed-case-matcher-type.json",
        "v5-simulation-with-unknown-fields.json",
    ],
)
def test_every_schema_version_reads_the_same_booking(name: str) -> None:
    require_corpus()
    (i,) = interactions_of(JAVA / "simulations" / name)
    assert (i.request.method, i.request.origin, i.request.path) == (
        "GET",
        "http://www.my-test.com",
        "/api/bookings/1",
    )
    assert i.request.query in ("", "key=value")
    assert header(i.request.headers, "content-type") == "text/plain; charset=utf-8"
    assert (i.response.status, i.response.body) == (200, b'{"bookingId":"1"}')
    assert i.response.headers == (("Content-Type", "application/json"),)
    assert inexact(JAVA / "simulations" / name) == []


def test_legacy_list_of_pairs_reads() -> None:
    require_corpus()
    first, second = interactions_of(JAVA / "simulations/legacy-simulation.json")
    assert (first.request.method, first.request.url, first.request.body) == (
        "POST",
        "http://www.my-test.com/api/bookings",
        b'{"flightId": "1"}',
    )
    assert (first.response.status, header(first.response.headers, "location")) == (
        201,
        "http://localhost/api/bookings/1",
    )
    assert second.response.status == 200


def test_hoverctl_request_templates_and_delay_settings() -> None:
    require_corpus()
    testdata = CORE / "functional-tests/hoverctl/testdata"
    first, second = interactions_of(testdata / "request-template.json")
    assert (first.request.url, first.response.status, first.response.body) == (
        "http://www.virtual.com/path1",
        201,
        b"body1",
    )
    assert second.request.headers == (("Header", "value2"),)
    delays = list(READER.read(testdata / "delays.json"))
    assert [(type(d), d.why) for d in delays] == [(Skipped, "a delay setting, not an exchange")] * 2


def test_encoded_body_is_base64_of_the_bytes() -> None:
    require_corpus()
    (i,) = interactions_of(CORE / "docs/pages/simulations/basic-encoded-simulation.json")
    assert i.request.url == "http://docs.hoverfly.io/pages/keyconcepts/templates.html?query=true"
    assert i.response.body == b"base64 encoded"


def test_encoded_gzip_body_decodes_and_keeps_the_wire_bytes(tmp_path: Path) -> None:
    wire = gzip.compress(b'{"ok": true}')
    p = pair(body=base64.b64encode(wire).decode())
    p["response"].update(encodedBody=True, headers={"Content-Encoding": ["gzip"]})
    (i,) = interactions_of(write(tmp_path, v5(p)))
    assert (i.response.body, i.response.encoding, i.response.wire_body) == (
        b'{"ok": true}',
        "gzip",
        wire,
    )


def test_empty_encoded_body_under_a_gzip_header_has_no_coding() -> None:
    require_corpus()
    path = ROOT / "kopernio__pytest-hoverfly-wrapper/test_data/static/google_returns_404.json"
    (i,) = interactions_of(path)
    assert (i.request.host, i.response.status, i.response.body) == ("google.com", 404, b"")
    assert header(i.response.headers, "content-encoding") == "gzip"
    assert i.response.encoding is None


def test_body_file_is_read_relative_to_the_simulation() -> None:
    require_corpus()
    (i,) = interactions_of(JAVA / "simulations/simulation-with-body-file.json")
    assert i.response.body == (JAVA / "simulations/responses/booking-200.json").read_bytes()
    assert i.request.scheme == "http"  # an exact "" scheme


def test_destination_with_a_port_and_stateful_capture_order() -> None:
    require_corpus()
    recorded = interactions_of(JAVA / "hoverfly/stateful-capture.json")
    assert {(i.request.host, i.request.port) for i in recorded} == {("localhost", 51322)}
    gets = [i.response.body for i in recorded if i.request.method == "GET"]
    assert gets == [b'{"items":["book flight"]}', b'{"items":["book flight","plan trip"]}', b""]


def test_sequence_states_put_repeats_in_chain_order(tmp_path: Path) -> None:
    later = pair("/poll", body="done", requiresState={"sequence:1": "2"})
    first = pair("/poll", body="pending", requiresState={"sequence:1": "1"})
    other = pair("/other", body="other")
    bodies = [i.response.body for i in interactions_of(write(tmp_path, v5(later, other, first)))]
    assert bodies == [b"pending", b"other", b"done"]


def test_journal_entries_are_sorted_by_time_and_keep_it() -> None:
    require_corpus()
    (i,) = interactions_of(JAVA / "sample-journal.json")
    assert i.recorded_at == "2017-06-22T12:18:08.050Z"
    assert (i.request.url, i.response.status) == ("http://hoverfly.io/", 502)
    assert header(i.request.headers, "user-agent") == "curl/7.49.1"


def test_journal_order_follows_time_started(tmp_path: Path) -> None:
    def entry(body: str, when: str) -> dict[str, Any]:
        rq = {"path": "/p", "method": "GET", "destination": "a.example", "scheme": "http"}
        return {"request": rq, "response": {"status": 200, "body": body}, "timeStarted": when}

    doc = {
        "journal": [
            entry("second", "2020-01-01T10:00:01.5+01:00"),
            entry("first", "2020-01-01T09:00:00.123456789Z"),
        ]
    }
    recorded = interactions_of(write(tmp_path, doc))
    assert [(i.response.body, i.recorded_at) for i in recorded] == [
        (b"first", "2020-01-01T09:00:00.123Z"),
        (b"second", "2020-01-01T09:00:01.500Z"),
    ]


def test_loose_matchers_import_as_their_literal_value() -> None:
    require_corpus()
    path = JAVA / "simulations/latest-simulation.json"
    (i,) = interactions_of(path)
    assert query_pairs(i.request.query) == (("key", "value1"), ("key", "value2"))
    assert i.request.body.startswith(b"grant_type=authorization_code&client_assertion=")
    assert [n.split(": ", 1)[1] for n in inexact(path)] == [
        "data.pairs[0].request.query.key: array matcher imported as its literal value",
        "data.pairs[0].request.body: form matcher imported as its literal value",
        "data.pairs[0].request.headers.Authorization: jwt matcher imported as its literal value",
    ]
    docs = CORE / "docs/pages/simulations/all-matchers-simulation.json"
    assert [i.request.host for i in interactions_of(docs)] == [
        "docs.hoverfly.io",
        "*.hoverfly.io",
        "*.hoverfly.io",
    ]


def test_query_values_joined_with_semicolons_are_split_and_paths_encoded(tmp_path: Path) -> None:
    p = pair("/a b/ü", query={"ids": exact("1;2"), "q": exact("x y")})
    (i,) = interactions_of(write(tmp_path, v5(p)))
    assert i.request.path == "/a%20b/%C3%BC"
    assert query_pairs(i.request.query) == (("ids", "1"), ("ids", "2"), ("q", "x y"))


def test_a_newer_schema_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="written by a newer Hoverfly schema") as e:
        list(READER.read(write(tmp_path, v5(pair(), version="v6.0"))))
    assert e.value.where == "meta.schemaVersion"
    assert interactions_of(write(tmp_path, v5(pair(), version="v5.9")))


def test_body_files_outside_the_folder_or_remote_are_not_read(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    sims = tmp_path / "sims"
    sims.mkdir()
    for name, why in (
        ("../secret.txt", "outside"),
        ("https://example.com/b.json", "URL"),
        ("missing.json", "not found"),
    ):
        p = pair()
        p["response"] = {"status": 200, "bodyFile": name}
        (item,) = READER.read(write(sims, v5(p)))
        assert isinstance(item, Skipped) and why in item.why


def test_pairs_without_response_or_status_are_skipped(tmp_path: Path) -> None:
    no_status = pair()
    no_status["response"] = {"body": "x"}
    doc = v5({"request": pair()["request"]}, no_status)
    whys = [i.why for i in READER.read(write(tmp_path, doc)) if isinstance(i, Skipped)]
    assert whys == ["no response: nothing to replay", "response has no status"]


def test_errors_name_the_pair_that_broke(tmp_path: Path) -> None:
    bad = pair()
    bad["response"]["status"] = "200"
    with pytest.raises(ImportFormatError) as e:
        list(READER.read(write(tmp_path, v5(pair(), bad))))
    assert e.value.where == "data.pairs[1].response.status"


def test_not_a_hoverfly_file_is_refused_or_passed_over(tmp_path: Path) -> None:
    graphql = write(tmp_path, {"data": {"viewer": {"login": "x"}}})
    assert not READER.sniff(graphql)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ImportFormatError, match="not valid JSON"):
        list(READER.read(tmp_path / "broken.json"))
    (item,) = READER.read(write(tmp_path, [1, 2], name="list.json"))
    assert isinstance(item, Skipped) and "not a Hoverfly simulation" in item.why


def test_forcing_the_format_on_every_file_passes_over_body_files() -> None:
    require_corpus()
    for path in expand([ROOT]):  # virt import --format hoverfly: every file, bodies included
        items = list(READER.read(path))
        if "responses" in path.parts:
            assert [type(i) for i in items] == [Skipped], path


# --- nothing but ImportFormatError escapes -------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
field = st.one_of(
    json_values,
    st.lists(st.fixed_dictionaries({"matcher": json_values, "value": json_values}), max_size=3),
    st.fixed_dictionaries({}, optional={"exactMatch": json_values, "globMatch": json_values}),
)
request_fields = ("path", "method", "destination", "scheme", "query", "body", "headers")
pair_like = st.fixed_dictionaries(
    {},
    optional={
        "request": st.fixed_dictionaries({}, optional=dict.fromkeys(request_fields, field))
        | json_values,
        "response": st.fixed_dictionaries(
            {},
            optional={
                "status": json_values,
                "body": json_values,
                "encodedBody": st.booleans(),
                "bodyFile": json_values,
                "headers": json_values,
            },
        )
        | json_values,
        "timeStarted": json_values,
    },
)
documents = st.one_of(
    st.fixed_dictionaries(
        {"data": st.fixed_dictionaries({"pairs": st.lists(pair_like, max_size=4)}) | json_values},
        optional={"meta": st.fixed_dictionaries({"schemaVersion": json_values}) | json_values},
    ),
    st.fixed_dictionaries({"journal": st.lists(pair_like, max_size=4) | json_values}),
    json_values,
)


def read_all(path: Path) -> None:
    try:
        list(READER.read(path))
        inexact(path)
    except ImportFormatError:
        pass


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_any_bytes_raise_only_import_format_error(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "sim.json"
    path.write_bytes(data)
    READER.sniff(path)
    read_all(path)


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=documents)
def test_any_structure_raises_only_import_format_error(doc: Any, tmp_path: Path) -> None:
    read_all(write(tmp_path, doc))


# --- export --------------------------------------------------------------------------------------


def grouped(headers: Headers) -> Headers:
    """Headers as a Hoverfly object keeps them: each name's values together, in first-seen
    order (where a repeat stood among other fields is lost)."""
    names: dict[str, list[str]] = {}
    for name, value in headers:
        names.setdefault(name, []).append(value)
    return tuple((name, value) for name, values in names.items() for value in values)


def export_import(interactions: list[Interaction], path: Path) -> list[Interaction]:
    assert WRITER.write(interactions, path) == len(interactions)
    return interactions_of(path)


def assert_round_trip(before: list[Interaction], after: list[Interaction]) -> None:
    """Kept: method, URL (query as a multiset, as virt matches it), request body, status,
    response headers (repeats grouped per name), the decoded body and its coding. Lost by
    design: request headers (not matched) and the reason phrase (Hoverfly has none)."""
    assert len(after) == len(before)
    for n, (a, b) in enumerate(zip(before, after, strict=True)):
        where = f"interaction {n}: {a.request.method} {a.request.url}"
        assert (b.request.method, b.request.origin, b.request.path) == (
            a.request.method,
            a.request.origin,
            a.request.path,
        ), where
        assert query_pairs(b.request.query) == query_pairs(a.request.query), where
        assert b.request.body == a.request.body, where
        assert b.response.status == a.response.status, where
        assert b.response.headers == grouped(a.response.headers), where
        assert (b.response.body, b.response.encoding) == (a.response.body, a.response.encoding)
        if a.response.wire_body is not None:
            assert b.response.wire_body == a.response.wire_body, where


def test_corpus_exports_and_reads_back(tmp_path: Path) -> None:
    require_corpus()
    for n, path in enumerate(recordings_under(ROOT)):
        before = interactions_of(path)
        assert_round_trip(before, export_import(before, tmp_path / f"{n}.json"))


def request(url_path: str = "/", query: str = "", body: bytes = b"", **kw: Any) -> Request:
    method = kw.pop("method", "GET")
    return Request(
        method,
        kw.pop("scheme", "https"),
        kw.pop("host", "api.example.com"),
        kw.pop("port", 443),
        url_path,
        query,
        body=body,
    )


TRICKY = [
    Interaction(
        request("/upload", "a=1&a=2&b=%20", b"\x00\xff\xfe", method="POST"),
        Response(201, "", (("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X", "y")), b"\x89PNG"),
    ),
    Interaction(
        request("/gz", port=8443),
        Response(
            200, "", (("Content-Encoding", "gzip"),), b"hello", "gzip", gzip.compress(b"hello")
        ),
    ),
    Interaction(
        request("/caf%C3%A9", body="ünïcödé ✓".encode(), method="PUT", scheme="http", port=80),
        Response(200, "", (("Content-Type", "text/plain; charset=utf-8"),), "naïve ✓".encode()),
    ),
    Interaction(
        request("/odd%2Fpath", host="::1", port=8080, scheme="http"),
        Response(304, "", (("Content-Encoding", "br"),), b""),
    ),
]


def test_tricky_interactions_survive_export(tmp_path: Path) -> None:
    assert_round_trip(TRICKY, export_import(TRICKY, tmp_path / "sim.json"))


def test_export_writes_a_v5_simulation_with_exact_matchers(tmp_path: Path) -> None:
    path = tmp_path / "sim.json"
    WRITER.write(TRICKY, path)
    doc = json.loads(path.read_text())
    assert doc["meta"] == {"schemaVersion": "v5"}
    upload, gz, cafe, odd = doc["data"]["pairs"]
    assert upload["request"] == {
        "path": exact("/upload"),
        "method": exact("POST"),
        "destination": exact("api.example.com"),
        "scheme": exact("https"),
        "body": exact("\x00\udcff\udcfe"),
        "query": {"a": exact("1;2"), "b": exact(" ")},
    }
    assert upload["response"]["encodedBody"] is True
    assert base64.b64decode(upload["response"]["body"]) == b"\x89PNG"
    assert upload["response"]["headers"]["Set-Cookie"] == ["a=1", "b=2"]
    assert gz["request"]["destination"] == exact("api.example.com:8443")
    assert gz["response"]["encodedBody"] is True  # Hoverfly sends the body as it is
    assert gzip.decompress(base64.b64decode(gz["response"]["body"])) == b"hello"
    assert cafe["request"]["path"] == exact("/café")  # decoded, as Hoverfly compares it
    assert cafe["response"] == {
        "status": 200,
        "body": "naïve ✓",
        "encodedBody": False,
        "headers": {"Content-Type": ["text/plain; charset=utf-8"]},
        "templated": False,
    }
    assert odd["request"]["path"] == exact("/odd%2Fpath")  # decoding would lose the %2F
    assert odd["request"]["destination"] == exact("[::1]:8080")
    WRITER.write(TRICKY, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()


def test_repeated_requests_export_as_a_sequence_that_replays_in_order(tmp_path: Path) -> None:
    polled = [
        Interaction(request("/job"), Response(202, body=b"pending")),
        Interaction(request("/other"), Response(200, body=b"other")),
        Interaction(request("/job"), Response(202, body=b"still pending")),
        Interaction(request("/job"), Response(200, body=b"done")),
    ]
    path = tmp_path / "sim.json"
    after = export_import(polled, path)
    assert_round_trip(polled, after)
    pairs = json.loads(path.read_text())["data"]["pairs"]
    assert [
        (p["request"].get("requiresState"), p["response"].get("transitionsState")) for p in pairs
    ] == [
        ({"sequence:1": "1"}, {"sequence:1": "2"}),
        (None, None),
        ({"sequence:1": "2"}, {"sequence:1": "3"}),
        ({"sequence:1": "3"}, None),
    ]
    answers = replay_in_process(tmp_path / "replay.db", after)
    assert [a.response.body for a in answers] == [b"pending", b"other", b"still pending", b"done"]


def test_export_refuses_a_folder_where_the_file_goes(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="is a folder"):
        WRITER.write(TRICKY, tmp_path)


bodies = st.one_of(st.binary(max_size=64), st.text(max_size=32).map(str.encode))
header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,10}", fullmatch=True).filter(
    lambda n: n.lower() != "content-encoding"
)
header_values = st.from_regex(r"[ -~]{0,20}", fullmatch=True)
interactions = st.builds(
    lambda method, scheme, host, port, segs, query, rq_body, status, hdrs, rs_body: Interaction(
        Request(method, scheme, host, port, "/" + "/".join(segs), query, body=rq_body),
        Response(status, "", tuple(hdrs), rs_body),
    ),
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-z0-9]{1,8}(\.[a-z]{2,4}){0,2}", fullmatch=True),
    st.integers(1, 65535),
    st.lists(st.from_regex(r"[A-Za-z0-9._~-]{1,8}", fullmatch=True), max_size=3),
    st.from_regex(r"([a-z]{1,4}=[A-Za-z0-9%]{0,4}&?){0,3}", fullmatch=True),
    bodies,
    st.integers(100, 599),
    st.lists(st.tuples(header_names, header_values), max_size=4),
    bodies,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.lists(interactions, max_size=6))
def test_export_then_import_keeps_any_interactions(
    before: list[Interaction], tmp_path_factory: pytest.TempPathFactory
) -> None:
    after = export_import(before, tmp_path_factory.mktemp("export") / "sim.json")
    assert_round_trip(before, after)


# --- glob and regex matchers on the destination and the path -----------------------------------


def matched(destination: tuple[str, str], path: tuple[str, str]) -> dict[str, Any]:
    """A pair whose destination and path are (matcher, value)."""
    found = pair()
    found["request"]["destination"] = [{"matcher": destination[0], "value": destination[1]}]
    found["request"]["path"] = [{"matcher": path[0], "value": path[1]}]
    return found


def test_glob_and_regex_matchers_on_destination_and_path_are_kept_as_patterns(
    tmp_path: Path,
) -> None:
    glob = matched(("glob", "*.hoverfly.io"), ("regex", "^/api/v[0-9]+/"))
    regex_host = matched(("regex", "api\\.example"), ("exact", "/status"))
    plain = pair("/plain")
    got = interactions_of(write(tmp_path, v5(glob, regex_host, plain)))
    assert [i.pattern for i in got] == [
        RequestPattern(
            host=Pattern(PatternKind.GLOB, "*.hoverfly.io"),
            path=Pattern(PatternKind.SEARCH, "^/api/v[0-9]+/"),
        ),
        RequestPattern(host=Pattern(PatternKind.SEARCH, "api\\.example")),
        None,
    ]
    # the examples: the literal glob, and a placeholder host for a regex that is no host
    assert [i.request.host for i in got] == ["*.hoverfly.io", "localhost", "a.example"]


def test_export_writes_glob_and_regex_matchers_back(tmp_path: Path) -> None:
    sim = matched(("glob", "*.hoverfly.io"), ("regex", "^/api/"))
    (i,) = interactions_of(write(tmp_path, v5(sim)))
    WRITER.write([i], tmp_path / "out.json")
    rq = json.loads((tmp_path / "out.json").read_text())["data"]["pairs"][0]["request"]
    assert rq["destination"] == [{"matcher": "glob", "value": "*.hoverfly.io"}]
    assert rq["path"] == [{"matcher": "regex", "value": "^/api/"}]
    (again,) = interactions_of(tmp_path / "out.json")
    assert again.pattern == i.pattern
