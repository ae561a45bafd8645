"""CORS as the local stack answers it: the HTTP API's ``CorsConfiguration`` and the live
reads Function URL's ``Cors``, read from the template with the stack's parameters."""

from __future__ import annotations

from agent_streams_dev.local.asgi import APP_DIR
from agent_streams_dev.local.cors import CorsRules
from agent_streams_dev.local.template import load_template

ASK = {
    "origin": "https://app.example.com",
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization,content-type",
}


def _rules(parameters: dict[str, str] | None = None) -> tuple[CorsRules, CorsRules]:
    template = load_template()
    config = template.http_api_cors(parameters)
    assert config is not None
    (url,) = [u for u in template.function_urls(parameters) if u.code_dir == APP_DIR]
    assert url.cors is not None
    return CorsRules.http_api(config), CorsRules.function_url(url.cors)


def test_preflights_are_answered_from_the_template() -> None:
    api, live = _rules()
    status, headers = api.preflight(ASK)
    answer = dict(headers)
    assert status == 204
    assert answer["Access-Control-Allow-Origin"] == "*"
    assert set(answer["Access-Control-Allow-Methods"].split(",")) == {"GET", "POST", "DELETE"}
    assert set(answer["Access-Control-Allow-Headers"].split(",")) == {
        "authorization",
        "content-type",
        "last-event-id",
    }
    assert answer["Access-Control-Max-Age"] == "600"
    status, headers = live.preflight({**ASK, "access-control-request-method": "GET"})
    assert status == 200
    assert dict(headers)["Access-Control-Allow-Methods"] == "GET"


def test_a_preflight_needs_an_origin_and_a_requested_method() -> None:
    assert CorsRules.is_preflight("OPTIONS", ASK)
    assert not CorsRules.is_preflight("OPTIONS", {"origin": "https://app.example.com"})
    assert not CorsRules.is_preflight("OPTIONS", {"access-control-request-method": "GET"})
    assert not CorsRules.is_preflight("GET", ASK)


def test_allowed_origins_restrict_both() -> None:
    api, live = _rules({"AllowedOrigins": "https://app.example.com,https://other.example"})
    for rules in (api, live):
        assert rules.allowed_origin("https://app.example.com") == "https://app.example.com"
        assert rules.allowed_origin("https://evil.example") is None
        assert rules.allowed_origin(None) is None
        _, headers = rules.preflight({**ASK, "origin": "https://evil.example"})
        assert headers == []  # the browser refuses: no CORS headers at all
        sent = rules.response_headers(ASK, [("Content-Type", "application/json")])
        assert ("Access-Control-Allow-Origin", "https://app.example.com") in sent
        assert ("Vary", "Origin") in sent


def test_a_scheme_wildcard_allows_that_scheme_only() -> None:
    rules = CorsRules.http_api({"AllowOrigins": ["https://*"]})
    assert rules.allowed_origin("https://a.example") == "https://a.example"
    assert rules.allowed_origin("http://a.example") is None


def test_no_origin_no_headers() -> None:
    api, _ = _rules()
    assert api.response_headers({}, [("Content-Type", "text/plain")]) == [
        ("Content-Type", "text/plain")
    ]


def test_the_http_api_ignores_the_integrations_cors_headers() -> None:
    api, _ = _rules({"AllowedOrigins": "https://app.example.com"})
    backend = [
        ("Content-Type", "application/json"),
        ("Access-Control-Allow-Origin", "https://evil.example"),
        ("Access-Control-Expose-Headers", "x-secret"),
    ]
    assert api.response_headers(ASK, backend) == [
        ("Content-Type", "application/json"),
        ("Access-Control-Allow-Origin", "https://app.example.com"),
        ("Vary", "Origin"),
    ]


def test_a_function_urls_cors_wins_only_where_it_conflicts() -> None:
    _, live = _rules({"AllowedOrigins": "https://app.example.com"})
    backend = [
        ("Access-Control-Allow-Origin", "https://evil.example"),
        ("Access-Control-Expose-Headers", "x-trace"),
    ]
    assert live.response_headers(ASK, backend) == [
        ("Access-Control-Expose-Headers", "x-trace"),
        ("Access-Control-Allow-Origin", "https://app.example.com"),
        ("Vary", "Origin"),
    ]


def test_credentials_and_exposed_headers() -> None:
    rules = CorsRules.function_url(
        {
            "AllowOrigins": ["*"],
            "AllowCredentials": True,
            "ExposeHeaders": ["x-a", "x-b"],
            "AllowMethods": ["*"],
            "AllowHeaders": ["*"],
        }
    )
    # With credentials a browser accepts no "*": the origin is named.
    sent = dict(rules.response_headers(ASK, []))
    assert sent["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert sent["Access-Control-Allow-Credentials"] == "true"
    assert sent["Access-Control-Expose-Headers"] == "x-a,x-b"
    _, headers = rules.preflight(ASK)
    answer = dict(headers)
    assert answer["Access-Control-Allow-Methods"] == "POST"  # "*": what was asked
    assert answer["Access-Control-Allow-Headers"] == "authorization,content-type"
    assert "Access-Control-Max-Age" not in answer
