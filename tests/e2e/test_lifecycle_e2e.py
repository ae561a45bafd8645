"""Timeouts, cleanup and thread deletion running by themselves on the local stack."""

from __future__ import annotations

import pytest

from agent_streams_dev.local.stack import LocalStack
from tests.e2e.conftest import LocalApi

pytestmark = pytest.mark.e2e

MINUTE = 60


class TestTimeout:
    def test_silent_stream_times_out_after_10_minutes_not_9(self, api: LocalApi) -> None:
        stream = api.stream(api.thread())
        api.advance(9 * MINUTE)
        assert api.state(stream)[1]["status"] == "streaming"
        api.advance(MINUTE)
        state = api.state(stream)[1]
        assert (state["status"], state["reason"]) == ("aborted", "timeout")

    def test_heartbeats_keep_a_quiet_stream_alive(self, api: LocalApi) -> None:
        stream = api.stream(api.thread())
        for _ in range(4):
            api.advance(8 * MINUTE)
            assert api.post(f"/streams/{stream}/heartbeat")[0] == 204
        assert api.state(stream)[1]["status"] == "streaming"
        api.advance(10 * MINUTE)
        assert api.state(stream)[1]["reason"] == "timeout"

    def test_writes_keep_it_alive_and_re_arm_the_timeout(self, api: LocalApi) -> None:
        stream = api.stream(api.thread())
        for start in range(6):
            api.advance(3 * MINUTE)
            assert api.append(stream, start)[1]["accepted"] is True
        assert api.state(stream)[1]["status"] == "streaming"
        api.advance(9 * MINUTE)
        assert api.state(stream)[1]["status"] == "streaming"
        api.advance(MINUTE)
        assert api.state(stream)[1]["reason"] == "timeout"
        assert api.append(stream, 6)[1] == {"accepted": False, "status": "aborted"}

    def test_a_timed_out_stream_keeps_its_partial_reply(self, api: LocalApi) -> None:
        thread = api.thread()
        stream = api.stream(thread)
        api.append(stream, 0, "half a rep")
        api.advance(10 * MINUTE)
        status, deltas = api.get(f"/threads/{thread}/deltas?cursors={stream}:0")
        assert (status, len(deltas)) == (200, 1)

    def test_double_firing_of_the_timeout_is_harmless(
        self, api: LocalApi, local_stack: LocalStack
    ) -> None:
        stream = api.stream(api.thread())
        api.advance(10 * MINUTE)
        before = api.state(stream)[1]
        local_stack.functions.by_operation["timeout_stream"].invoke({"streamId": stream})  # type: ignore[union-attr]
        local_stack.functions.by_operation["timeout_stream"].invoke({"streamId": stream})  # type: ignore[union-attr]
        assert api.state(stream)[1] == before

    def test_a_lost_schedule_is_covered_by_the_ttl(
        self, api: LocalApi, local_stack: LocalStack
    ) -> None:
        thread = api.thread()
        stream = api.stream(thread)
        scheduler = local_stack.client("scheduler")
        group = local_stack.resources.settings.schedule_group  # type: ignore[union-attr]
        scheduler.delete_schedule(GroupName=group, Name=f"timeout-{stream}-0")
        api.advance(60 * MINUTE)
        assert api.state(stream)[1]["status"] == "streaming"  # nothing fired
        api.advance(11 * MINUTE)
        assert api.state(stream)[0] == 404  # expired: every read ignores it
        assert api.get(f"/threads/{thread}/streams")[1] == []
        assert api.append(stream, 0)[0] == 404


class TestCleanup:
    def test_finished_stream_is_cleaned_up_at_5_minutes_not_4(self, api: LocalApi) -> None:
        thread = api.thread()
        stream = api.stream(thread)
        for start in range(20):
            api.append(stream, start)
        assert api.post(f"/streams/{stream}/finish")[1] == {"status": "finished"}
        api.advance(4 * MINUTE)
        assert api.state(stream)[1]["status"] == "finished"
        api.advance(MINUTE)
        assert api.state(stream)[0] == 404
        assert api.get(f"/threads/{thread}/deltas?cursors={stream}:0")[1] == []

    def test_double_firing_of_cleanup_is_harmless(
        self, api: LocalApi, local_stack: LocalStack
    ) -> None:
        stream = api.stream(api.thread())
        api.post(f"/streams/{stream}/finish")
        api.advance(5 * MINUTE)
        cleanup = local_stack.functions.by_operation["cleanup_stream"]  # type: ignore[union-attr]
        cleanup.invoke({"streamId": stream})
        cleanup.invoke({"streamId": stream})
        assert api.state(stream)[0] == 404

    def test_aborted_streams_stay(self, api: LocalApi) -> None:
        stream = api.stream(api.thread())
        api.post(f"/streams/{stream}/abort", {"reason": "user"})
        api.advance(30 * MINUTE)
        assert api.state(stream)[1]["status"] == "aborted"


class TestThreadDeletion:
    def test_the_state_machine_deletes_every_stream_then_the_thread(
        self, api: LocalApi, local_stack: LocalStack
    ) -> None:
        thread = api.thread(title="doomed")
        streams = [api.stream(thread, order=n) for n in range(4)]
        # 2,600 deltas: several delete pages, many 25-item batches.
        for stream in streams:
            start = 0
            for _ in range(13):
                batch = [f"w{start + i} " for i in range(50)]
                status, reply = api.append(stream, start, *batch)
                assert reply["accepted"] is True, reply
                start += 50
        api.post(f"/streams/{streams[0]}/finish")
        api.post(f"/streams/{streams[1]}/abort", {"reason": "x"})
        status, reply = api.delete(f"/threads/{thread}")
        assert status == 202
        assert reply["executionArn"].endswith(f"{thread}-1")
        assert api.post(f"/threads/{thread}/streams", {"order": 9, "stepOrder": 0})[0] == 409
        local_stack.wait_for_executions()
        assert api.get(f"/threads/{thread}")[0] == 404
        for stream in streams:
            assert api.state(stream)[0] == 404
        tables = local_stack.resources.table_names  # type: ignore[union-attr]
        dynamodb = local_stack.client("dynamodb")
        for stream in streams:
            left = dynamodb.query(
                TableName=tables["DeltasTable"],
                KeyConditionExpression="streamId = :s",
                ExpressionAttributeValues={":s": {"S": stream}},
            )["Items"]
            assert left == []
        scheduler = local_stack.client("scheduler")
        group = local_stack.resources.settings.schedule_group  # type: ignore[union-attr]
        names = [s["Name"] for s in scheduler.list_schedules(GroupName=group)["Schedules"]]
        assert not [n for n in names if any(s in n for s in streams)]
        sfn = local_stack.client("stepfunctions")
        execution = sfn.describe_execution(executionArn=reply["executionArn"])
        assert execution["status"] == "SUCCEEDED"

    def test_deleting_a_thread_twice_while_it_runs_returns_the_same_execution(
        self, api: LocalApi
    ) -> None:
        thread = api.thread()
        api.stream(thread)
        first = api.delete(f"/threads/{thread}")
        second = api.delete(f"/threads/{thread}")
        assert first[0] == 202
        assert second[0] in (202, 404)  # the execution may already have finished
        if second[0] == 202:
            assert (
                second[1]["executionArn"].rsplit("-", 1)[0]
                == first[1]["executionArn"].rsplit("-", 1)[0]
            )

    def test_sync_deletion_keeps_the_thread(self, api: LocalApi) -> None:
        thread = api.thread()
        streams = [api.stream(thread, order=n) for n in range(3)]
        for stream in streams:
            api.append(stream, 0, "a", "b")
        assert api.delete(f"/threads/{thread}/streams") == (204, None)
        assert api.get(f"/threads/{thread}")[1]["status"] == "active"
        listed = api.get(f"/threads/{thread}/streams?statuses=streaming,finished,aborted")[1]
        assert listed == []
        assert api.stream(thread)  # the thread still takes streams


class TestLocalStackItself:
    def test_serves_its_openapi_document(self, api: LocalApi) -> None:
        status, doc = api.get("/openapi.json")
        assert status == 200
        assert doc["openapi"].startswith("3.1")

    def test_unknown_routes_are_404_like_api_gateway(self, api: LocalApi) -> None:
        assert api.get("/nope") == (404, {"message": "Not Found"})

    def test_clock_advance_validates(self, api: LocalApi) -> None:
        assert api.post("/_local/clock/advance", {"seconds": -1})[0] == 400
        assert api.post("/_local/clock/advance", {"minutes": 1})[0] == 400
