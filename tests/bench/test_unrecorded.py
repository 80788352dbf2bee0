"""The fallback load of make bench: requests on recorded routes that were never recorded, and
what a right answer to each must hold."""

from __future__ import annotations

import json

from bench import unrecorded, workload


def test_no_request_of_the_fallback_load_was_recorded() -> None:
    size = 5000
    recorded = {e.key for e in workload.entries(size)}
    asked = [unrecorded.request(size, i).key for i in range(size)]
    assert not recorded & set(asked)
    assert len(set(asked)) == size


def test_the_fallback_load_asks_the_recorded_routes_for_new_items_and_searches() -> None:
    get, post = unrecorded.request(1000, 7), unrecorded.request(1000, 20)
    assert (get.method, get.target, get.body) == ("GET", "/api/items/1007?page=0", b"")
    assert (post.method, post.target) == ("POST", "/api/search")
    assert post.body == b'{"q":"new-20","page":6,"filters":{"in_stock":true,"min_price":20}}'
    assert unrecorded.echoed(get) == {"id": 1007, "page": 0}
    assert unrecorded.echoed(post) == {"q": "new-20", "page": 6}


def test_a_right_fallback_answer_has_the_values_of_the_request() -> None:
    e = unrecorded.request(1000, 7)
    body = json.dumps({"id": 1007, "page": 0, "name": "item 3"}).encode()
    assert unrecorded.wrong(e, 200, "fallback;source=template", body) == ""


def test_a_miss_a_recorded_answer_or_the_template_s_own_values_are_wrong() -> None:
    e = unrecorded.request(1000, 7)
    template = workload.entry(7).answer
    assert unrecorded.wrong(e, 599, "miss", b"{}") == "599 X-Virt-Match: miss"
    assert unrecorded.wrong(e, 200, "fuzzy;score=0.91", template).startswith("200 X-Virt-Match")
    why = unrecorded.wrong(e, 200, "fallback;source=template", template)
    assert why == "not the values of the request: id 7, sent 1007"
    assert (
        unrecorded.wrong(e, 200, "fallback;source=schema", b"[1]") == "a JSON list, not an object"
    )
