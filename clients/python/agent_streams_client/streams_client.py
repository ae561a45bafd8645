"""``StreamsClient``: the contract's operations, the writer and the follower, on one object.

The layering, bottom up: a :class:`~agent_streams_client.transport.Transport` carries
one call; :class:`~agent_streams_client.operations.Operations` turns the contract's
operations into calls; the writer (``delta_streamer``) and the followers
(``follower``, ``live_follower``) use those operations. This module sits on top of
all of them: it picks the transport (:meth:`StreamsClient.http`, :meth:`~StreamsClient.lambda_`,
:meth:`~StreamsClient.in_process`) and builds writers and followers
(:meth:`~StreamsClient.streamer`, :meth:`~StreamsClient.follow`). Nothing below imports it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from agent_streams_client.delta_streamer import DeltaStreamer
from agent_streams_client.follower import MaterializerFactory, MergeMessages, ThreadFollower
from agent_streams_client.http_transport import DEFAULT_TIMEOUT, Auth, HttpTransport
from agent_streams_client.inprocess_transport import InProcessTransport
from agent_streams_client.lambda_transport import LambdaTransport
from agent_streams_client.live_follower import LiveThreadFollower
from agent_streams_client.operations import CursorsArg, Operations, normalize_cursors
from agent_streams_client.transport import close_transport
from agent_streams_client.types import UIMessage

if TYPE_CHECKING:
    import urllib3
    from botocore.session import Session
    from mypy_boto3_lambda.client import LambdaClient


class StreamsClient(Operations):
    """The contract's operations over any :class:`Transport`, with a writer and a follower."""

    # -- constructors ---------------------------------------------------------

    @classmethod
    def http(
        cls,
        base_url: str,
        auth: Auth = None,
        *,
        region: str | None = None,
        timeout: float | urllib3.Timeout | None = None,
        max_connections: int = 10,
        headers: dict[str, str] | None = None,
        botocore_session: Session | None = None,
        live_url: str | None = None,
    ) -> StreamsClient:
        """``live_url``: the stack's ``LiveUrl`` output, where :meth:`follow` reads
        Server-Sent Events (default: ``base_url``, which the local stack serves)."""
        return cls(
            HttpTransport(
                base_url,
                auth=auth,
                region=region,
                timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
                max_connections=max_connections,
                headers=headers,
                botocore_session=botocore_session,
                live_url=live_url,
            )
        )

    @classmethod
    def lambda_(
        cls,
        *,
        stack_name: str,
        region: str | None = None,
        endpoint_url: str | None = None,
        botocore_session: Session | None = None,
        client: LambdaClient | None = None,
    ) -> StreamsClient:
        """Direct invoke of ``{stack_name}-{operation}``.

        ``endpoint_url``: another Lambda endpoint than AWS's, e.g. the local stack's URL
        (``http://127.0.0.1:3000``: it serves Lambda's Invoke API; its stack name is
        ``agent-streams-local``). The region and credentials come from the environment
        unless given (``region``, ``botocore_session``).

        ``client``: a Lambda client of your own (your config, your event hooks —
        e.g. the local stack's ``lambda_invoke_hook``) instead of one created on
        the first call; ``region``/``endpoint_url``/``botocore_session`` are then unused.
        """
        return cls(
            LambdaTransport(
                stack_name=stack_name,
                region=region,
                endpoint_url=endpoint_url,
                botocore_session=botocore_session,
                client=client,
            )
        )

    @classmethod
    def in_process(
        cls, invoke: Callable[[str, dict[str, Any]], Any], *, in_thread: bool = True
    ) -> StreamsClient:
        return cls(InProcessTransport(invoke, in_thread=in_thread))

    async def close(self) -> None:
        await close_transport(self.transport)

    async def __aenter__(self) -> StreamsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- writer and reader ------------------------------------------------------

    def streamer(
        self, *, thread_id: str, order: int, step_order: int, **options: Any
    ) -> DeltaStreamer:
        """A :class:`DeltaStreamer` writing one stream through this client."""
        return DeltaStreamer(
            self, thread_id=thread_id, order=order, step_order=step_order, **options
        )

    def follow(
        self,
        thread_id: str,
        *,
        statuses: Sequence[str] = ("streaming", "finished", "aborted"),
        poll_interval: float = 0.1,
        start_order: int = 0,
        stop_when_idle: bool = False,
        max_polls: int | None = None,
        timeout: float | None = None,
        materializer_factory: MaterializerFactory | None = None,
        merge: MergeMessages | None = None,
        live: bool | None = None,
        discovery_interval: float = 1.0,
        **options: Any,
    ) -> AsyncGenerator[list[UIMessage], None]:
        """Yield the thread's materialised UI messages whenever they change.

        Over HTTP the deltas come as Server-Sent Events from the live reads URL when it
        serves them (``live``: None tries, and polls if it does not; False always polls);
        ``list_streams`` then runs every ``discovery_interval`` seconds instead of every
        ``poll_interval``. See :class:`agent_streams_client.follower.ThreadFollower` and
        :class:`agent_streams_client.live_follower.LiveThreadFollower` for the options
        (``options`` are passed on: ``retry_policy``, ``clock``, ``sleep``).
        """
        if live is not False and isinstance(self.transport, HttpTransport):
            return LiveThreadFollower(
                self,
                thread_id,
                transport=self.transport,
                discovery_interval=discovery_interval,
                statuses=statuses,
                poll_interval=poll_interval,
                start_order=start_order,
                stop_when_idle=stop_when_idle,
                max_polls=max_polls,
                timeout=timeout,
                materializer_factory=materializer_factory,
                merge=merge,
                **options,
            ).messages()
        return ThreadFollower(
            self,
            thread_id,
            statuses=statuses,
            poll_interval=poll_interval,
            start_order=start_order,
            stop_when_idle=stop_when_idle,
            max_polls=max_polls,
            timeout=timeout,
            materializer_factory=materializer_factory,
            merge=merge,
            **options,
        ).messages()


__all__ = ["CursorsArg", "StreamsClient", "normalize_cursors"]
