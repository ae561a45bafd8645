"""The live reads in the template: one web-adapter function, its streaming URL, its rights."""

from __future__ import annotations

from typing import Any

from agent_streams_dev.local.template import PROJECT_ROOT, load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE.resources
FUNCTION = RESOURCES["StreamEventsFunction"]["Properties"]
URL = RESOURCES["StreamEventsUrl"]["Properties"]


def test_the_function_runs_the_asgi_app_under_the_web_adapter() -> None:
    assert FUNCTION["Handler"] == "run.sh"
    assert FUNCTION["CodeUri"] == "functions/stream_events/"
    code = PROJECT_ROOT / "functions" / "stream_events"
    for name in ("app.py", "run.sh", "requirements.txt"):
        assert (code / name).is_file()
    assert "app:app" in (code / "run.sh").read_text()
    requirements = (code / "requirements.txt").read_text().lower()
    for package in ("starlette", "uvicorn", "pyjwt[crypto]"):
        assert package in requirements
    env = FUNCTION["Environment"]["Variables"]
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert env["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert env["AWS_LWA_READINESS_CHECK_PATH"] == "/healthz"
    assert env["LIVE_AUTH"] == {"Fn::If": ["UseJwt", "jwt", "iam"]}
    (layer,) = FUNCTION["Layers"]
    public = layer["Fn::If"][1]["Fn::Sub"]
    assert public.endswith(":753240598075:layer:LambdaAdapterLayerArm64:26")
    assert layer["Fn::If"][2] == {"Ref": "WebAdapterLayerArn"}
    assert FUNCTION["Timeout"] == 900
    assert int(env["LIVE_MAX_SECONDS"]) < FUNCTION["Timeout"]


def test_the_function_url_streams_and_is_iam_by_default() -> None:
    assert URL["InvokeMode"] == "RESPONSE_STREAM"
    assert URL["AuthType"] == {"Fn::If": ["PublicLiveUrl", "NONE", "AWS_IAM"]}
    assert TEMPLATE.parameter_default("ApiAuthorization") == "AWS_IAM"
    assert TEMPLATE.parameter_default("JwtIssuer") == ""
    permission = RESOURCES["StreamEventsUrlPublicPermission"]
    assert permission["Condition"] == "PublicLiveUrl"
    assert permission["Properties"]["FunctionUrlAuthType"] == "NONE"
    assert TEMPLATE.body["Outputs"]["LiveUrl"]["Value"] == {
        "Fn::GetAtt": ["StreamEventsUrl", "FunctionUrl"]
    }


def test_cors_on_the_url_and_the_http_api_from_allowed_origins() -> None:
    for cors in (URL["Cors"], RESOURCES["HttpApi"]["Properties"]["CorsConfiguration"]):
        key = "AllowOrigins"
        assert cors[key] == {"Ref": "AllowedOrigins"}
        assert {h.lower() for h in cors["AllowHeaders"]} == {
            "authorization",
            "content-type",
            "last-event-id",
        }
        assert "GET" in cors["AllowMethods"]


def test_the_function_may_only_read() -> None:
    actions: dict[str, Any] = {}
    for statement in FUNCTION["Policies"][0]["Statement"]:
        for action in statement["Action"]:
            actions[action] = statement["Resource"]
    assert set(actions) == {"dynamodb:GetItem", "dynamodb:Query", "s3:GetObject", "s3:ListBucket"}
    assert actions["s3:GetObject"] == {"Fn::Sub": "${SpillBucket.Arn}/parts/*"}
    assert actions["s3:ListBucket"] == {"Fn::GetAtt": ["SpillBucket", "Arn"]}
    assert actions["dynamodb:GetItem"] == [
        {"Fn::GetAtt": ["ThreadsTable", "Arn"]},
        {"Fn::GetAtt": ["StreamsTable", "Arn"]},
    ]


def test_it_is_not_an_operation_function() -> None:
    assert "stream_events" not in TEMPLATE.functions()
