"""WireMock mappings: every corpus mapping imports and a whole mapping folder replays itself in
recorded order; bodies come from __files; export writes a mappings folder that reads back."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
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
    replay_in_process,
    require_corpus,
)
from virt.formats import FORMATS, WRITERS, ImportFormatError, Skipped, detect, expand
from virt.formats.wiremock import BODY_DIRS, READER, WRITER, inexact
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

ROOT = CORPUS / "wiremock"
HUB4J = ROOT / "hub4j__github-api/src/test/resources/org/kohsuke/github"
JENKINS = ROOT / "jenkinsci__github-branch-source-plugin/src/test/resources"
CACHED_404 = HUB4J / "extras/GitHubCachingTest/wiremock/testCached404"

# JSON bodies kept outside any body folder (the test code hands them to WireMock itself)
BODIES_ELSEWHERE = {
    f"jenkinsci__github-branch-source-plugin/src/test/resources/api/contextualization/{name}"
    for name in (
        "body-repos-cloudbeers-multibranch-demo-branches.json",
        "body-repos-cloudbeers-multibranch-demo-contents.json",
        "body-repos-cloudbeers-multibranch-demo-pulls.json",
        "body-repos-cloudbeers-multibranch-demo.json",
    )
}
# mappings whose bodyFileName names a file the upstream repository does not have
BODY_FILE_MISSING = {
    "hub4j__github-api/src/test/resources/org/kohsuke/github/extras/GitHubCachingTest/wiremock/"
    "testCached404/mappings/1-user.json",
    "hub4j__github-api/src/test/resources/org/kohsuke/github/extras/GitHubCachingTest/wiremock/"
    "testCached404/mappings/2-user.json",
    "hub4j__github-api/src/test/resources/org/kohsuke/github/GHRepositoryStatisticsTest/wiremock/"
    "testContributorStats/mappings/4-r_h_g_stats_contributors.json",
}


def interactions_of(path: Path) -> list[Interaction]:
    return [i for i in READER.read(path) if isinstance(i, Interaction)]


def mapping_folders() -> list[Any]:
    if not ROOT.is_dir():
        return [pytest.param(None, id="wiremock-corpus-missing")]
    folders = sorted({p.parent for p in ROOT.rglob("mappings/*.json")})
    return [pytest.param(f, id=f.relative_to(ROOT).as_posix()) for f in folders]


def write_mapping(folder: Path, name: str, mapping: dict[str, Any]) -> Path:
    path = folder / "mappings" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(mapping), encoding="utf-8")
    return path


def stub(url: str = "/x", status: int = 200, **response: Any) -> dict[str, Any]:
    return {"request": {"url": url, "method": "GET"}, "response": {"status": status, **response}}


def test_reader_and_writer_are_registered() -> None:
    assert FORMATS["wiremock"] is READER
    assert WRITERS["wiremock"] is WRITER


# --- every corpus file ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", corpus_files("wiremock", body_dirs=BODY_DIRS))
def test_corpus_file_imports(path: Path | None) -> None:
    require_corpus()
    assert path is not None
    rel = path.relative_to(ROOT).as_posix()
    if rel in BODIES_ELSEWHERE:
        assert not READER.sniff(path)
        return
    items = list(READER.read(path))
    assert items
    if rel in BODY_FILE_MISSING:
        assert [(type(i), i.where) for i in items] == [(Skipped, "response.bodyFileName")]
        assert isinstance(items[0], Skipped) and "not found" in items[0].why
        return
    (interaction,) = items
    assert isinstance(interaction, Interaction)
    assert_sane(items, path, "wiremock")
    request = interaction.request
    assert (request.scheme, request.host, request.port) == ("http", "localhost", 80)
    assert READER.sniff(path)
    found = detect(path)
    assert found is not None and found.name == "wiremock"


def test_body_files_are_not_recordings() -> None:
    require_corpus()
    bodies = [p for p in ROOT.rglob("*") if p.is_file() and set(p.parts) & set(BODY_DIRS)]
    assert len(bodies) > 250
    assert [p for p in bodies if READER.sniff(p)] == []


@pytest.mark.parametrize("folder", mapping_folders())
def test_corpus_mapping_folder_replays_itself_in_order(folder: Path | None, tmp_path: Path) -> None:
    require_corpus()
    assert folder is not None
    assert READER.sniff(folder) and READER.sniff(folder.parent)
    recorded = interactions_of(folder)
    replay_in_process(tmp_path / "replay.db", recorded)
    print(f"wiremock/{folder.relative_to(ROOT)}: {len(recorded)} interactions replayed")


def test_inexact_matchers_of_the_corpus_are_counted() -> None:
    require_corpus()
    notes = inexact(ROOT)
    kinds = Counter(re.sub(r"\[\d+\]|\.[\w-]+(?= \(|:)", "", n.split(": ", 1)[1]) for n in notes)
    print("wiremock inexact matchers:", dict(kinds))
    # hub4j's equalToJson bodies ignore array order; a few headers use contains/matches
    assert sum(1 for n in notes if "bodyPatterns" in n) == 33
    assert sum(1 for n in notes if "request.headers" in n) == 5


# --- details read from hand-picked files ---------------------------------------------------------


def test_scenario_chain_orders_a_polled_endpoint_across_files() -> None:
    require_corpus()
    statuses = [
        i.response.status
        for i in interactions_of(CACHED_404)
        if i.request.target.endswith("/git/refs/heads/test/content_ref_cache")
        and i.request.method == "GET"
    ]
    # files 7, 8, 10, 11, 13, 14, 15: read file by file they would sort 10, 11, 13, 14, 15, 7, 8
    assert statuses == [200, 304, 404, 404, 304, 200, 304]


def test_polled_requests_replay_their_recorded_sequence(tmp_path: Path) -> None:
    require_corpus()
    folder = HUB4J / "RequesterRetryTest/wiremock/testResponseCodeConnectionExceptions"
    recorded = interactions_of(folder)
    users = [i for i in recorded if i.request.path == "/user"]
    assert [Path(i.source or "").name.split("-")[0] for i in users] == [
        "1",
        "4",
        "6",
        "9",
        "11",
        "14",
    ]
    answers = replay_in_process(tmp_path / "replay.db", users)
    assert [a.source for a in answers] == [i.source for i in users]


def test_body_file_comes_from_the_sibling_files_folder() -> None:
    require_corpus()
    path = HUB4J / "GHOrganizationTest/wiremock/testListExternalGroupsWithPagination/mappings"
    (i,) = interactions_of(path / "2-o_h_external-groups.json")
    assert (i.request.method, i.request.url) == (
        "GET",
        "http://localhost/orgs/hub4j-test-org/external-groups?per_page=2",
    )
    assert header(i.request.headers, "accept") == "application/vnd.github+json"
    assert i.response.status == 200
    assert i.response.headers[:2] == (
        ("Server", "GitHub.com"),
        ("Date", "Tue, 25 Feb 2020 14:41:06 GMT"),
    )
    body_file = path.parent / "__files/2-o_h_external-groups.json"
    assert i.response.body == body_file.read_bytes()
    assert i.response.encoding is None


def test_binary_body_file_is_byte_exact() -> None:
    require_corpus()
    folder = HUB4J / "GHRepositoryTest/wiremock/testZipball_codeload"
    (i,) = interactions_of(folder / "mappings/1-h_t_l_main.json")
    assert i.response.body[:2] == b"PK"
    assert hashlib.sha256(i.response.body).hexdigest() == (
        "5fa28de50b79c77bf03f6ac28ea275f888cdb1510ff49133b2eff56269b738c3"
    )


def test_url_path_with_query_parameters_and_basic_auth() -> None:
    require_corpus()
    path = JENKINS / "api/mappings/mapping-search-repositories-based-on-topics-O8W78.json"
    (i,) = interactions_of(path)
    assert i.request.path == "/search/repositories"
    assert i.request.query == (
        "q=topic%3Acool%20topic%3Agreat%20topic%3Awas-awesome%20org%3Astephenc%20fork%3Atrue"
        "%20sort%3Aname-asc"
    )
    token = base64.b64encode(b"git-user:git-secret").decode()
    assert header(i.request.headers, "authorization") == f"Basic {token}"
    assert json.loads(i.response.body)["total_count"] >= 0


def test_forcing_the_format_on_a_tree_reads_each_root_whole_and_passes_over_bodies() -> None:
    require_corpus()
    # what virt import --format wiremock does with a folder: roots (folders holding
    # mappings) are read whole, so bodies are never taken for mappings
    units = list(expand([JENKINS], READER))
    assert units and all(u.is_dir() for u in units)
    items = [i for u in units for i in READER.read(u)]  # no ImportFormatError
    assert sum(isinstance(i, Interaction) for i in items) == 79


def test_older_body_folders_are_tried(tmp_path: Path) -> None:
    for n, folder in enumerate(("_files", "files")):
        root = tmp_path / str(n)
        (root / folder).mkdir(parents=True)
        (root / folder / "b.txt").write_bytes(b"from " + folder.encode())
        path = write_mapping(root, "m.json", stub(bodyFileName="b.txt"))
        assert interactions_of(path)[0].response.body == b"from " + folder.encode()
        assert READER.sniff(path) and not READER.sniff(root / folder / "b.txt")


def test_gzip_header_over_a_decoded_body_is_reencoded_at_replay(tmp_path: Path) -> None:
    (tmp_path / "__files").mkdir()
    (tmp_path / "__files/b.json").write_text('{"a": 1}')
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    path = write_mapping(tmp_path, "m.json", stub(bodyFileName="b.json", headers=headers))
    (i,) = interactions_of(path)
    assert (i.response.body, i.response.encoding, i.response.wire_body) == (
        b'{"a": 1}',
        "gzip",
        None,
    )
    empty = write_mapping(tmp_path, "e.json", stub(status=304, headers=headers))
    assert interactions_of(empty)[0].response.encoding is None  # nothing to encode


def test_inline_bodies_text_json_and_base64(tmp_path: Path) -> None:
    doc = {
        "mappings": [
            stub("/text", body="héllo"),
            stub("/json", jsonBody={"a": [1, "é"]}),
            stub("/bin", base64Body=base64.b64encode(b"\x00\xff").decode()),
            stub("/none", status=204),
        ]
    }
    path = tmp_path / "all.json"
    path.write_text(json.dumps(doc))
    bodies = {i.request.path: i.response.body for i in interactions_of(path)}
    assert bodies == {
        "/text": "héllo".encode(),
        "/json": '{"a":[1,"é"]}'.encode(),
        "/bin": b"\x00\xff",
        "/none": b"",
    }


def test_loose_matchers_import_as_their_literal_value(tmp_path: Path) -> None:
    mapping = {
        "request": {
            "urlPattern": "/users/[0-9]+",
            "method": "POST",
            "headers": {"X-Id": {"matches": "[a-z]+"}, "X-Gone": {"absent": True}},
            "bodyPatterns": [{"equalToJson": '{"a": 1}', "ignoreExtraElements": True}],
        },
        "response": {"status": 201, "statusMessage": "Made"},
    }
    path = write_mapping(tmp_path, "m.json", mapping)
    (i,) = interactions_of(path)
    assert (i.request.path, i.request.headers, i.request.body) == (
        "/users/[0-9]+",
        (("X-Id", "[a-z]+"),),
        b'{"a": 1}',
    )
    assert (i.response.status, i.response.reason) == (201, "Made")
    assert [n.split(": ", 1)[1] for n in inexact(path)] == [
        "request.urlPattern (a regex): matched as a pattern, kept as the example",
        "request.headers.X-Id: matches imported as its literal value",
        "request.bodyPatterns[0] (equalToJson): not an exact body",
    ]


def test_exact_body_matchers_are_the_body(tmp_path: Path) -> None:
    binary = base64.b64encode(b"\x89PNG").decode()
    for pattern, body in (
        ({"equalTo": "a=1"}, b"a=1"),
        ({"binaryEqualTo": binary}, b"\x89PNG"),
        ({"equalToJson": {"a": 1}}, b'{"a":1}'),
    ):
        mapping = {"request": {"url": "/", "method": "PUT", "bodyPatterns": [pattern]}}
        mapping["response"] = {"status": 200}
        path = write_mapping(tmp_path, "m.json", mapping)
        assert interactions_of(path)[0].request.body == body
        assert inexact(path) == []


def test_body_file_outside_the_body_folder_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "__files").mkdir()
    path = write_mapping(tmp_path, "m.json", stub(bodyFileName="../secret.txt"))
    (item,) = READER.read(path)
    assert isinstance(item, Skipped) and "outside" in item.why
    assert item.where == "response.bodyFileName"
    (item,) = READER.read(tmp_path)
    assert isinstance(item, Skipped) and item.where == "mappings/m.json: response.bodyFileName"


def test_entries_without_a_response_are_skipped_with_a_reason(tmp_path: Path) -> None:
    doc = {
        "mappings": [
            {"request": {"url": "/a", "method": "GET"}},
            {"request": {"url": "/b"}, "response": {"fault": "CONNECTION_RESET_BY_PEER"}},
            {"request": {"url": "/c"}, "response": {"proxyBaseUrl": "https://example.com"}},
        ]
    }
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    whys = [i.why for i in READER.read(path) if isinstance(i, Skipped)]
    assert whys == [
        "no response in this mapping",
        "a fault (CONNECTION_RESET_BY_PEER), not a response",
        "a proxy stub: no recorded response",
    ]


def test_errors_name_the_mapping_that_broke(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"mappings": [stub("/a"), stub("/b", status="two hundred")]}))
    with pytest.raises(ImportFormatError) as e:
        list(READER.read(path))
    assert e.value.where == "mappings[1].response.status"
    assert str(path) in str(e.value)


def test_file_order_falls_back_to_numbers_in_names(tmp_path: Path) -> None:
    for n in (1, 2, 10):
        write_mapping(tmp_path, f"{n}-x.json", stub("/same", body=str(n)))
    assert [i.response.body for i in interactions_of(tmp_path)] == [b"1", b"2", b"10"]


def test_scenario_chain_beats_insertion_index(tmp_path: Path) -> None:
    def step(required: str, new: str | None, body: str, index: int) -> dict[str, Any]:
        m = stub("/job", body=body)
        m.update(scenarioName="job", requiredScenarioState=required, insertionIndex=index)
        if new:
            m["newScenarioState"] = new
        return m

    write_mapping(tmp_path, "a.json", step("done", None, "done", 1))
    write_mapping(tmp_path, "b.json", step("Started", "again", "pending", 2))
    write_mapping(tmp_path, "c.json", step("again", "done", "pending again", 3))
    write_mapping(tmp_path, "d.json", {**stub("/other", body="other"), "insertionIndex": 4})
    bodies = [i.response.body for i in interactions_of(tmp_path)]
    assert bodies == [b"pending", b"pending again", b"done", b"other"]


# --- nothing but ImportFormatError escapes -------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
mapping_like = st.fixed_dictionaries(
    {
        "request": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "url": json_values,
                    "urlPath": json_values,
                    "urlPattern": json_values,
                    "method": json_values,
                    "headers": json_values,
                    "queryParameters": json_values,
                    "bodyPatterns": json_values,
                    "basicAuth": json_values,
                    "cookies": json_values,
                },
            ),
        )
    },
    optional={
        "response": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "status": json_values,
                    "headers": json_values,
                    "body": json_values,
                    "jsonBody": json_values,
                    "base64Body": json_values,
                    "bodyFileName": json_values,
                    "statusMessage": json_values,
                    "fault": json_values,
                },
            ),
        ),
        "insertionIndex": json_values,
        "scenarioName": json_values,
        "requiredScenarioState": json_values,
        "newScenarioState": json_values,
    },
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
    path = tmp_path / "mappings" / "m.json"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    READER.sniff(path)
    read_all(path)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.one_of(mapping_like, st.fixed_dictionaries({"mappings": st.lists(mapping_like)})))
def test_any_structure_raises_only_import_format_error(doc: Any, tmp_path: Path) -> None:
    path = tmp_path / "mappings" / "m.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    read_all(path)
    read_all(tmp_path)


# --- export --------------------------------------------------------------------------------------


def grouped(headers: Headers) -> Headers:
    """Headers as a WireMock object keeps them: each name's values together, in first-seen
    order (where a repeat stood among other fields is lost)."""
    names: dict[str, list[str]] = {}
    for name, value in headers:
        names.setdefault(name, []).append(value)
    return tuple((name, value) for name, values in names.items() for value in values)


def export_import(interactions: list[Interaction], folder: Path) -> list[Interaction]:
    assert WRITER.write(interactions, folder) == len(interactions)
    return interactions_of(folder)


def assert_round_trip(before: list[Interaction], after: list[Interaction]) -> None:
    assert len(after) == len(before)
    for n, (a, b) in enumerate(zip(before, after, strict=True)):
        where = f"interaction {n}: {a.request.method} {a.request.target}"
        assert (b.request.method, b.request.target) == (a.request.method, a.request.target), where
        assert b.request.body == a.request.body, where
        assert (b.response.status, b.response.reason) == (a.response.status, a.response.reason)
        assert b.response.headers == grouped(a.response.headers), where
        assert (b.response.body, b.response.encoding) == (a.response.body, a.response.encoding)


def test_corpus_exports_and_reads_back(tmp_path: Path) -> None:
    require_corpus()
    for n, folder in enumerate(p.values[0] for p in mapping_folders()):
        before = interactions_of(folder)
        assert_round_trip(before, export_import(before, tmp_path / str(n)))


def request(method: str = "GET", target: str = "/", body: bytes = b"") -> Request:
    path, _, query = target.partition("?")
    return Request(method, "http", "localhost", 80, path, query, body=body)


TRICKY = [
    Interaction(
        request("POST", "/upload?a=1&a=2&b=%20", b"\x00\xff\xfe"),
        Response(
            201,
            "Created",
            (("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X", "y")),
            b"\x89PNG\r\n",
        ),
    ),
    Interaction(
        request("GET", "/gz"),
        Response(
            200, "OK", (("Content-Encoding", "gzip"),), b"hello", "gzip", gzip.compress(b"hello")
        ),
    ),
    Interaction(
        request("PUT", "/caf%C3%A9", "ünïcödé ✓".encode()),
        Response(200, "", (("Content-Type", "text/plain; charset=utf-8"),), "naïve ✓".encode()),
    ),
    Interaction(request("GET", "/empty"), Response(204)),
]


def test_tricky_interactions_survive_export(tmp_path: Path) -> None:
    assert_round_trip(TRICKY, export_import(TRICKY, tmp_path))


def test_export_writes_one_mapping_per_interaction_with_stable_ids(tmp_path: Path) -> None:
    WRITER.write(TRICKY, tmp_path / "a")
    WRITER.write(TRICKY, tmp_path / "b")
    files = sorted((tmp_path / "a/mappings").iterdir())
    assert len(files) == len(TRICKY)
    assert [f.read_bytes() for f in files] == [
        f.read_bytes() for f in sorted((tmp_path / "b/mappings").iterdir())
    ]
    first = json.loads((tmp_path / "a/mappings" / files[0].name).read_text())
    assert files[0].name == f"{first['id']}.json" and first["uuid"] == first["id"]
    by_url = {m["request"]["url"]: m for m in (json.loads(f.read_text()) for f in files)}
    upload = by_url["/upload?a=1&a=2&b=%20"]
    assert upload["request"]["bodyPatterns"] == [{"binaryEqualTo": "AP/+"}]
    assert upload["response"]["base64Body"] == base64.b64encode(b"\x89PNG\r\n").decode()
    assert upload["response"]["headers"]["Set-Cookie"] == ["a=1", "b=2"]
    assert "headers" not in upload["request"]
    assert by_url["/gz"]["response"]["body"] == "hello"  # WireMock keeps bodies decoded
    assert not (tmp_path / "a/__files").exists()


def test_repeated_requests_export_as_a_scenario_that_replays_in_order(tmp_path: Path) -> None:
    polled = [
        Interaction(request("GET", "/job/1"), Response(202, body=b"pending")),
        Interaction(request("GET", "/other"), Response(200, body=b"other")),
        Interaction(request("GET", "/job/1"), Response(202, body=b"still pending")),
        Interaction(request("GET", "/job/1"), Response(200, body=b"done")),
    ]
    after = export_import(polled, tmp_path / "export")
    assert_round_trip(polled, after)
    mappings = [json.loads(f.read_text()) for f in (tmp_path / "export/mappings").iterdir()]
    job = sorted((m for m in mappings if "scenarioName" in m), key=lambda m: m["insertionIndex"])
    name = job[0]["scenarioName"]
    assert [(m["requiredScenarioState"], m.get("newScenarioState")) for m in job] == [
        ("Started", f"{name}-2"),
        (f"{name}-2", f"{name}-3"),
        (f"{name}-3", None),
    ]
    answers = replay_in_process(tmp_path / "replay.db", after)
    assert [a.response.body for a in answers] == [b"pending", b"other", b"still pending", b"done"]


def test_each_exported_file_reads_on_its_own(tmp_path: Path) -> None:
    WRITER.write(TRICKY, tmp_path)
    for path in (tmp_path / "mappings").iterdir():
        assert READER.sniff(path)
        assert len(interactions_of(path)) == 1


def test_export_refuses_a_file_where_the_folder_goes(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(Exception, match="is a file"):
        WRITER.write(TRICKY, tmp_path / "taken")


bodies = st.one_of(st.binary(max_size=64), st.text(max_size=32).map(str.encode))
header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,10}", fullmatch=True).filter(
    lambda n: n.lower() != "content-encoding"
)
header_values = st.from_regex(r"[ -~]{0,20}", fullmatch=True)
interactions = st.builds(
    lambda method, segs, query, rq_body, status, hdrs, rs_body: Interaction(
        request(method, "/" + "/".join(segs) + (f"?{query}" if query else ""), rq_body),
        Response(status, "", tuple(hdrs), rs_body),
    ),
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    st.lists(st.from_regex(r"[A-Za-z0-9._~%-]{1,8}", fullmatch=True), max_size=3),
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
    after = export_import(before, tmp_path_factory.mktemp("export"))
    assert_round_trip(before, after)


# --- dialects: string statuses, URL patterns and templates -------------------------------------


def test_a_status_written_as_a_string_is_read_as_wiremock_reads_it(tmp_path: Path) -> None:
    path = write_mapping(tmp_path, "m.json", stub("/gone", status="400"))  # type: ignore[arg-type]
    (i,) = interactions_of(path)
    assert i.response.status == 400
    assert i.response.reason == ""


@pytest.mark.parametrize(
    ("key", "value", "kind", "with_query"),
    [
        ("urlPattern", "/users/[0-9]+\\?page=.*", PatternKind.REGEX, True),
        ("urlPathPattern", "/users/[0-9]+", PatternKind.REGEX, False),
        ("urlPathTemplate", "/users/{id}/posts/{post}", PatternKind.TEMPLATE, False),
    ],
)
def test_url_patterns_and_templates_are_kept_as_the_interactions_pattern(
    tmp_path: Path, key: str, value: str, kind: PatternKind, with_query: bool
) -> None:
    mapping = {"request": {key: value, "method": "GET"}, "response": {"status": 200}}
    (i,) = interactions_of(write_mapping(tmp_path, "m.json", mapping))
    assert i.pattern == RequestPattern(path=Pattern(kind, value), with_query=with_query)
    assert i.request.path == value.partition("?")[0]  # the example, as before


def test_exact_urls_have_no_pattern(tmp_path: Path) -> None:
    (i,) = interactions_of(write_mapping(tmp_path, "m.json", stub("/users/1")))
    assert i.pattern is None


@pytest.mark.parametrize(
    "request_matcher",
    [
        {"urlPattern": "/users/[0-9]+(\\?.*)?"},
        {"urlPathPattern": "/users/[0-9]+", "queryParameters": {"page": {"equalTo": "2"}}},
        {"urlPathTemplate": "/users/{id}"},
    ],
)
def test_export_writes_the_url_pattern_back(
    tmp_path: Path, request_matcher: dict[str, Any]
) -> None:
    mapping = {"request": {**request_matcher, "method": "GET"}, "response": {"status": 200}}
    (i,) = interactions_of(write_mapping(tmp_path / "in", "m.json", mapping))
    WRITER.write([i], tmp_path / "out")
    (written,) = (tmp_path / "out" / "mappings").glob("*.json")
    rq = json.loads(written.read_text())["request"]
    assert {k: v for k, v in rq.items() if k != "method"} == request_matcher
    (again,) = interactions_of(written)
    assert again.pattern == i.pattern
