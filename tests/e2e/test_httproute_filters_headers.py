"""HTTPRoute RequestHeaderModifier and ResponseHeaderModifier (Gateway API HTTPHeaderFilter), at
rule level and per backendRef, with real manifests and an httpx client. The cases follow the
conformance tests httproute-request-header-modifier, httproute-response-header-modifier and
httproute-request-header-modifier-backend-weights: what the backend saw and what the client got.

Field lines added to an existing field may arrive as a separate line (RFC 9110 5.3: several lines
of one field are one comma-separated list); `joined()` compares them as one list, as the
conformance suite does."""

import pytest

from filters_helpers import FilterGateway, joined, route

RULES = """\
    - matches: [{path: {type: PathPrefix, value: /set}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: X-Header-Set, value: set-overwrites-values}]
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /add}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            add: [{name: X-Header-Add, value: add-appends-values}]
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /remove}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            remove: [X-Header-Remove]
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /multiple}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set:
              - {name: X-Header-Set-1, value: header-set-1}
              - {name: X-Header-Set-2, value: header-set-2}
            add:
              - {name: X-Header-Add-1, value: header-add-1}
              - {name: X-Header-Add-2, value: header-add-2}
              - {name: X-Header-Add-3, value: header-add-3}
            remove: [X-Header-Remove-1, X-Header-Remove-2]
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /case-insensitivity}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: X-Header-Set, value: header-set}]
            add: [{name: X-Header-Add, value: header-add}]
            remove: [X-Header-Remove]
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /resp/set}}]
      filters:
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            set: [{name: X-Header-Set, value: set-overwrites-values}]
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /resp/add}}]
      filters:
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            add: [{name: X-Header-Add, value: add-appends-values}]
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /resp/remove}}]
      filters:
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            remove: [X-Header-Remove]
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /resp/case-insensitivity}}]
      filters:
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            set: [{name: X-Header-Set, value: header-set}]
            add:
              - {name: X-Header-Add, value: header-add}
              - {name: x-lowercase-add, value: lowercase-add}
              - {name: x-Mixedcase-ADD-1, value: mixedcase-add-1}
              - {name: X-UPPERCASE-ADD, value: uppercase-add}
            remove: [X-Header-Remove]
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /response-and-request-header-modifiers}}]
      filters:
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            set:
              - {name: X-Header-Set-1, value: header-set-1}
              - {name: X-Header-Set-2, value: header-set-2}
            add:
              - {name: X-Header-Add-1, value: header-add-1}
              - {name: X-Header-Add-2, value: header-add-2}
            remove: [X-Header-Remove-1, X-Header-Remove-2]
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: X-Header-Set, value: set-overwrites-values}]
            add:
              - {name: X-Header-Add, value: header-val-1}
              - {name: X-Header-Add-Append, value: header-val-2}
            remove: [X-Header-Remove]
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /managed}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set:
              - {name: Content-Length, value: "999"}
              - {name: X-Forwarded-For, value: 203.0.113.7}
            add: [{name: Connection, value: close}]
            remove: [Transfer-Encoding, X-Forwarded-Host]
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            set: [{name: Content-Length, value: "1"}]
            add: [{name: Set-Cookie, value: b=2}]
            remove: [Connection]
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /weights}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            add: [{name: X-Rule, value: rule}]
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            set: [{name: X-Rule-Response, value: rule}]
      backendRefs:
        - name: echo
          port: 80
          weight: 10
          filters:
            - type: RequestHeaderModifier
              requestHeaderModifier:
                set: [{name: Backend, value: echo}]
            - type: ResponseHeaderModifier
              responseHeaderModifier:
                add: [{name: X-Served-By, value: echo}]
        - name: echo2
          port: 80
          weight: 10
          filters:
            - type: RequestHeaderModifier
              requestHeaderModifier:
                set: [{name: Backend, value: echo2}]
                remove: [X-Rule]
    - matches: [{path: {type: PathPrefix, value: /}}]
      backendRefs: [{name: echo, port: 80}]
"""


@pytest.fixture(scope="module")
def gw(gantry_bin, tmp_path_factory):
    with FilterGateway(gantry_bin, tmp_path_factory, ["echo", "echo2"],
                       route("headers", RULES)) as g:
        yield g


def test_route_accepted(gw):
    assert gw.route_condition("headers", "Accepted")["status"] == "True"
    assert gw.route_condition("headers", "ResolvedRefs")["status"] == "True"


@pytest.mark.parametrize("sent,expected", [
    ({"Some-Other-Header": "val"}, {"Some-Other-Header": "val", "X-Header-Set": "set-overwrites-values"}),
    ({"Some-Other-Header": "val", "X-Header-Set": "some-other-value"},
     {"Some-Other-Header": "val", "X-Header-Set": "set-overwrites-values"}),
])
def test_request_set(gw, sent, expected):
    rec = gw.seen(gw.get("/set", headers=sent))
    for name, value in expected.items():
        assert gw.seen_values(rec, name) == [value], name


def test_request_set_overwrites_every_line(gw):
    rec = gw.seen(gw.get("/set", headers=[("X-Header-Set", "a"), ("x-header-set", "b")]))
    assert gw.seen_values(rec, "x-header-set") == ["set-overwrites-values"]


@pytest.mark.parametrize("sent,expected", [
    ({}, "add-appends-values"),
    ({"X-Header-Add": "some-other-value"}, "some-other-value,add-appends-values"),
])
def test_request_add(gw, sent, expected):
    rec = gw.seen(gw.get("/add", headers={"Some-Other-Header": "val", **sent}))
    assert joined(gw.seen_values(rec, "X-Header-Add")) == expected
    assert gw.seen_values(rec, "Some-Other-Header") == ["val"]


def test_request_remove(gw):
    rec = gw.seen(gw.get("/remove", headers={"X-Header-Remove": "val", "X-Keep": "k"}))
    assert gw.seen_values(rec, "X-Header-Remove") == []
    assert gw.seen_values(rec, "X-Keep") == ["k"]


def test_request_multiple(gw):
    rec = gw.seen(gw.get("/multiple", headers={
        "X-Header-Set-2": "set-val-2", "X-Header-Add-2": "add-val-2",
        "X-Header-Remove-2": "remove-val-2", "Another-Header": "another-header-val"}))
    assert gw.seen_values(rec, "X-Header-Set-1") == ["header-set-1"]
    assert gw.seen_values(rec, "X-Header-Set-2") == ["header-set-2"]
    assert joined(gw.seen_values(rec, "X-Header-Add-1")) == "header-add-1"
    assert joined(gw.seen_values(rec, "X-Header-Add-2")) == "add-val-2,header-add-2"
    assert joined(gw.seen_values(rec, "X-Header-Add-3")) == "header-add-3"
    assert gw.seen_values(rec, "Another-Header") == ["another-header-val"]
    assert gw.seen_values(rec, "X-Header-Remove-1") == []
    assert gw.seen_values(rec, "X-Header-Remove-2") == []


def test_request_case_insensitivity(gw):
    rec = gw.seen(gw.get("/case-insensitivity", headers={
        "x-header-set": "original-val-set", "x-header-add": "original-val-add",
        "x-header-remove": "original-val-remove", "Another-Header": "another-header-val"}))
    assert gw.seen_values(rec, "X-Header-Set") == ["header-set"]
    assert joined(gw.seen_values(rec, "X-Header-Add")) == "original-val-add,header-add"
    assert gw.seen_values(rec, "x-header-remove") == []
    assert gw.seen_values(rec, "Another-Header") == ["another-header-val"]


def test_response_set(gw):
    r = gw.get("/resp/set", backend_headers=[["Some-Other-Header", "val"]])
    assert r.headers.get_list("X-Header-Set") == ["set-overwrites-values"]
    assert r.headers["Some-Other-Header"] == "val"
    r = gw.get("/resp/set", backend_headers=[["X-Header-Set", "some-other-value"],
                                             ["x-header-set", "again"]])
    assert r.headers.get_list("X-Header-Set") == ["set-overwrites-values"]


def test_response_add(gw):
    r = gw.get("/resp/add", backend_headers=[["Some-Other-Header", "val"]])
    assert r.headers["X-Header-Add"] == "add-appends-values"
    r = gw.get("/resp/add", backend_headers=[["X-Header-Add", "some-other-value"]])
    assert joined(r.headers.get_list("X-Header-Add")) == "some-other-value,add-appends-values"


def test_response_remove(gw):
    r = gw.get("/resp/remove", backend_headers=[["X-Header-Remove", "val"], ["X-Keep", "k"]])
    assert "X-Header-Remove" not in r.headers
    assert r.headers["X-Keep"] == "k"


def test_response_case_insensitivity(gw):
    r = gw.get("/resp/case-insensitivity", backend_headers=[
        ["x-header-set", "original-val-set"], ["x-header-add", "original-val-add"],
        ["x-header-remove", "original-val-remove"], ["Another-Header", "another-header-val"]])
    assert r.headers.get_list("X-Header-Set") == ["header-set"]
    assert joined(r.headers.get_list("X-Header-Add")) == "original-val-add,header-add"
    assert r.headers["X-Lowercase-Add"] == "lowercase-add"
    assert r.headers["X-Mixedcase-Add-1"] == "mixedcase-add-1"
    assert r.headers["X-Uppercase-Add"] == "uppercase-add"
    assert r.headers["Another-Header"] == "another-header-val"
    assert "x-header-remove" not in r.headers


def test_response_and_request_modifiers(gw):
    r = gw.get("/response-and-request-header-modifiers",
               headers={"X-Header-Remove": "remove-val", "X-Header-Add-Append": "append-val-1",
                        "X-Header-Echo": "echo"},
               backend_headers=[["X-Header-Set-2", "set-val-2"], ["X-Header-Add-2", "add-val-2"],
                                ["X-Header-Remove-2", "remove-val-2"],
                                ["Another-Header", "another-header-val"],
                                ["X-Header-Remove-1", "remove-val-1"], ["X-Header-Echo", "echo"]])
    rec = gw.seen(r)
    assert joined(gw.seen_values(rec, "X-Header-Add")) == "header-val-1"
    assert gw.seen_values(rec, "X-Header-Set") == ["set-overwrites-values"]
    assert joined(gw.seen_values(rec, "X-Header-Add-Append")) == "append-val-1,header-val-2"
    assert gw.seen_values(rec, "X-Header-Echo") == ["echo"]
    assert gw.seen_values(rec, "X-Header-Remove") == []
    assert r.headers["X-Header-Set-1"] == "header-set-1"
    assert r.headers.get_list("X-Header-Set-2") == ["header-set-2"]
    assert r.headers["X-Header-Add-1"] == "header-add-1"
    assert joined(r.headers.get_list("X-Header-Add-2")) == "add-val-2,header-add-2"
    assert r.headers["Another-Header"] == "another-header-val"
    assert r.headers["X-Header-Echo"] == "echo"
    assert "X-Header-Remove-1" not in r.headers
    assert "X-Header-Remove-2" not in r.headers


def test_framing_and_hop_by_hop_stay_under_gantry_control(gw):
    body = b"hello body"
    r = gw.client.post("/managed", content=body,
                       headers={"host": "filters.example", "x-forwarded-host": "spoof",
                                "x-echo-headers": '[["Set-Cookie","a=1"]]'})
    rec = gw.seen(r)
    # Framing is gantry's: the backend saw the real body length, not the configured 999.
    assert gw.seen_values(rec, "content-length") == [str(len(body))]
    assert rec["body_len"] == len(body)
    assert gw.seen_values(rec, "connection") == []
    # set X-Forwarded-For replaces gantry's own value; remove X-Forwarded-Host drops it.
    assert gw.seen_values(rec, "x-forwarded-for") == ["203.0.113.7"]
    assert gw.seen_values(rec, "x-forwarded-host") == []
    assert gw.seen_values(rec, "x-forwarded-proto") == ["http"]
    # Response framing is gantry's too, and the connection stays usable (keep-alive).
    assert int(r.headers["content-length"]) == len(r.content)
    assert r.headers.get_list("set-cookie") == ["a=1", "b=2"]
    again = gw.get("/managed")
    assert again.status_code == 200


def test_backend_ref_filters_follow_the_picked_backend(gw):
    seen = {"echo": 0, "echo2": 0}
    for _ in range(40):
        r = gw.get("/weights", headers={"X-Rule": "client"})
        rec = gw.seen(r)
        who = rec["backend"]
        seen[who] += 1
        # conformance: exactly one Backend field, naming the backend that got the request.
        assert gw.seen_values(rec, "Backend") == [who]
        if who == "echo":
            assert joined(gw.seen_values(rec, "X-Rule")) == "client,rule"
            assert r.headers["X-Served-By"] == "echo"
        else:
            # echo2's own filter removes what the rule added (rule first, then backendRef).
            assert gw.seen_values(rec, "X-Rule") == []
            assert "X-Served-By" not in r.headers
        assert r.headers["X-Rule-Response"] == "rule"
    assert seen["echo"] > 5 and seen["echo2"] > 5, seen


def test_route_without_filters_untouched(gw):
    r = gw.get("/plain", headers={"X-Header-Set": "mine"}, backend_headers=[["X-Header-Remove", "v"]])
    rec = gw.seen(r)
    assert gw.seen_values(rec, "X-Header-Set") == ["mine"]
    assert r.headers["X-Header-Remove"] == "v"


def test_example_header_modifiers(gantry_bin, tmp_path_factory):
    with FilterGateway(gantry_bin, tmp_path_factory, ["blue", "green"],
                       example=("header-modifiers", 8091, {9501: "blue", 9502: "green"}),
                       wait_host="api.example.com") as g:
        pools = set()
        for _ in range(20):
            r = g.get("/", host="api.example.com",
                      headers={"X-Debug": "1", "X-Env": "dev", "X-Trace-Tags": "client"},
                      backend_headers=[["Server", "leaky/1.0"]])
            rec = g.seen(r)
            assert g.seen_values(rec, "X-Env") == ["production"]
            assert joined(g.seen_values(rec, "X-Trace-Tags")) == "client,edge"
            assert g.seen_values(rec, "X-Debug") == []
            pool = g.seen_values(rec, "X-Pool")
            assert pool == [{"blue": "blue", "green": "green"}[rec["backend"]]]
            pools.add(pool[0])
            assert r.headers["strict-transport-security"] == "max-age=31536000"
            assert "server" not in r.headers
            assert ("x-canary" in r.headers) == (rec["backend"] == "green")
        assert pools == {"blue", "green"}
