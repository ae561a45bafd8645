from tests.conftest import Stack
from tests.helpers import http_event, load_function, reply_json


def test_a_stream_round_trip(stack: Stack, lambda_context) -> None:
    create_thread = load_function("create_thread").handler
    thread = reply_json(create_thread(http_event("POST", "/threads", body={"title": "t"}), lambda_context))
    tid = thread["threadId"]
    create_stream = load_function("create_stream").handler
    r = create_stream(http_event("POST", "/threads/{threadId}/streams", {"threadId": tid}, body={"order": 1, "stepOrder": 0}), lambda_context)
    assert r["statusCode"] == 201, r
    sid = reply_json(r)["streamId"]
    add = load_function("add_delta").handler
    r = add(http_event("POST", "/streams/{streamId}/deltas", {"streamId": sid}, body={"start": 0, "end": 2, "parts": [{"type": "text-delta", "delta": "hi"}]}), lambda_context)
    assert reply_json(r) == {"accepted": True, "status": "streaming"}, r
    r = add(http_event("POST", "/streams/{streamId}/deltas", {"streamId": sid}, body={"start": 0, "end": 2, "parts": [{"type": "text-delta", "delta": "hi"}]}), lambda_context)
    assert reply_json(r) == {"accepted": True, "status": "streaming"}, r
    r = add(http_event("POST", "/streams/{streamId}/deltas", {"streamId": sid}, body={"start": 5, "end": 6, "parts": [{"type": "x"}]}), lambda_context)
    assert r["statusCode"] == 409, r
    list_deltas = load_function("list_deltas").handler
    r = list_deltas(http_event("GET", "/threads/{threadId}/deltas", {"threadId": tid}, query={"cursors": f"{sid}:0"}), lambda_context)
    assert reply_json(r) == [{"streamId": sid, "start": 0, "end": 2, "parts": [{"type": "text-delta", "delta": "hi"}]}]
    list_streams = load_function("list_streams").handler
    r = list_streams(http_event("GET", "/threads/{threadId}/streams", {"threadId": tid}), lambda_context)
    assert [s["streamId"] for s in reply_json(r)] == [sid]
    finish = load_function("finish_stream").handler
    r = finish(http_event("POST", "/streams/{streamId}/finish", {"streamId": sid}, body={"finalDelta": {"streamId": sid, "start": 2, "end": 3, "parts": [{"type": "finish"}]}}), lambda_context)
    assert reply_json(r) == {"status": "finished"}, r
    get_stream = load_function("get_stream").handler
    r = get_stream({"streamId": sid}, lambda_context)
    assert r["status"] == "finished" and r["nextStart"] == 3, r
    assert any(n.startswith("cleanup-") for n in stack.scheduler.pending)
