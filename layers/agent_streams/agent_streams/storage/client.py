"""The low-level DynamoDB client (botocore), for what PynamoDB's public API does not do.

Queries with projections, filters and hand-built pages (their items are read
raw: a page of deltas is passed on without building a model per item), and
``BatchWriteItem`` / ``BatchGetItem`` with their unprocessed items. The client is the
process's one DynamoDB client (``agent_streams.aws``), the one PynamoDB's models use too.

Like every DynamoDB call in storage, each request is retried while transient and
its failure mapped (``storage.errors``). Independent queries run on a small thread
pool, each in a copy of the caller's context, so they keep its deadline.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, TypeVar

from agent_streams import aws
from agent_streams.retries import retrying, unavailable
from agent_streams.storage.errors import SERVICE, is_transient, mapped

T = TypeVar("T")

#: Write requests one BatchWriteItem takes at most.
BATCH_LIMIT = 25
RequestItems = dict[str, list[dict[str, Any]]]


class _Unprocessed(Exception):
    """A batch request left items unprocessed (DynamoDB throttled part of the batch)."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} items unprocessed")
        self.count = count


class DynamoClient:
    def __init__(self, region: str | None, *, max_workers: int = 16) -> None:
        self._region = region
        self._max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None

    def _client(self) -> Any:
        return aws.client("dynamodb", self._region)

    def query(self, what: str, **kwargs: Any) -> dict[str, Any]:
        """One page of a query."""
        client = self._client()
        with mapped(what):
            page: dict[str, Any] = retrying(
                lambda: client.query(**kwargs), what=what, transient=is_transient
            )
        return page

    def query_pages(self, what: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """The pages of a query, one request each, for as long as the caller reads them."""
        while True:
            page = self.query(what, **kwargs)
            yield page
            last = page.get("LastEvaluatedKey")
            if last is None:
                return
            kwargs["ExclusiveStartKey"] = last

    def batch_write(self, requests: Sequence[tuple[str, dict[str, Any]]], what: str) -> None:
        """``(table, write request)`` pairs, in batches of 25, unprocessed items retried."""
        for offset in range(0, len(requests), BATCH_LIMIT):
            batch: RequestItems = {}
            for table, request in requests[offset : offset + BATCH_LIMIT]:
                batch.setdefault(table, []).append(request)
            self._write_batch(batch, what)

    def _write_batch(self, request_items: RequestItems, what: str) -> None:
        client = self._client()
        pending = [request_items]

        def attempt() -> None:
            reply = client.batch_write_item(RequestItems=pending[0])
            left = {t: items for t, items in reply.get("UnprocessedItems", {}).items() if items}
            if left:
                pending[0] = left
                raise _Unprocessed(sum(len(items) for items in left.values()))

        with mapped(what):
            try:
                retrying(
                    attempt,
                    what=what,
                    transient=lambda exc: isinstance(exc, _Unprocessed) or is_transient(exc),
                )
            except _Unprocessed as exc:
                raise unavailable(SERVICE, what, str(exc)) from exc

    def batch_get(
        self, table: str, keys: Sequence[dict[str, Any]], what: str
    ) -> list[dict[str, Any]]:
        """The items at ``keys`` (at most 100) that exist, read strongly consistent in one
        ``BatchGetItem``; keys DynamoDB leaves unprocessed are asked for again."""
        client = self._client()
        pending: list[dict[str, Any]] = [{table: {"Keys": list(keys), "ConsistentRead": True}}]
        found: list[dict[str, Any]] = []

        def attempt() -> None:
            reply = client.batch_get_item(RequestItems=pending[0])
            found.extend(reply.get("Responses", {}).get(table, []))
            left = {t: spec for t, spec in reply.get("UnprocessedKeys", {}).items() if spec}
            if left:
                pending[0] = left
                raise _Unprocessed(sum(len(spec.get("Keys", [])) for spec in left.values()))

        with mapped(what):
            try:
                retrying(
                    attempt,
                    what=what,
                    transient=lambda exc: isinstance(exc, _Unprocessed) or is_transient(exc),
                )
            except _Unprocessed as exc:
                raise unavailable(SERVICE, what, str(exc)) from exc
        return found

    def concurrently(self, calls: Sequence[Callable[[], T]]) -> list[T]:
        """Run the calls at once; once all are done, their results, or the first failure."""
        if len(calls) <= 1:
            return [call() for call in calls]
        if self._executor is None:
            self._client()  # made here once, rather than by the first of the workers
            self._executor = ThreadPoolExecutor(
                max_workers=self._max_workers, thread_name_prefix="agent-streams-io"
            )
        contexts = [contextvars.copy_context() for _ in calls]
        futures = [
            self._executor.submit(context.run, call)
            for context, call in zip(contexts, calls, strict=True)
        ]
        wait(futures)
        return [future.result() for future in futures]

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
