"""DynamoDB's limits, enforced on the runtime's own requests whatever the endpoint.

moto (and other stand-ins) are kinder than DynamoDB in places this service depends
on. The local stack installs these botocore hooks on the runtime's session, so the
service meets DynamoDB's limits on the embedded moto and with ``--aws-endpoint``
alike — before the request leaves the process, and on the page it gets back:

- ``TransactWriteItems``: at most 100 actions and 4 MB of items
  (``ValidationException``); a ``Put`` item over 400 KB cancels the transaction
  (``TransactionCanceledException``, reason ``ValidationError``). A
  ``ClientRequestToken`` makes it idempotent for 10 minutes after it succeeded: the
  same request again succeeds without being applied, different parameters with the
  same token are ``IdempotentParameterMismatchException`` (botocore sends a token
  with every call and keeps it across its retries, so a retried commit succeeds
  instead of failing its own condition).
- ``BatchWriteItem``: at most 25 requests; ``PutItem``/``BatchWriteItem`` items over
  400 KB are a ``ValidationException``.
- ``Query``/``Scan``: a page holds at most 1 MB of items; a longer one is cut and
  ``LastEvaluatedKey`` set to its last item's key, as DynamoDB ends a page.

Sizes follow DynamoDB's item size rules (attribute names and values in UTF-8,
numbers by significant digits). Limits of the hooks themselves: a page is measured
on the items returned (DynamoDB counts what it read before a filter or projection,
so it may cut earlier); an ``UpdateItem``'s result is not known before it runs, so
only its own values are measured; idempotency tokens are remembered by this process
only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: DynamoDB's 400 KB item limit (400 * 1024 bytes).
MAX_ITEM_BYTES = 400 * 1024
#: A transaction's actions and the aggregate size of its items.
MAX_TRANSACT_ACTIONS = 100
MAX_TRANSACT_BYTES = 4 * 1024 * 1024
MAX_BATCH_WRITE_REQUESTS = 25
#: A Query or Scan page.
MAX_PAGE_BYTES = 1024 * 1024
#: How long a ClientRequestToken is remembered after its request completed.
TOKEN_WINDOW_MS = 10 * 60 * 1000

ITEM_TOO_LARGE = "Item size has exceeded the maximum allowed size"
UPDATE_TOO_LARGE = "Item size to update has exceeded the maximum allowed size"


# -- DynamoDB's item size ----------------------------------------------------------------


def _utf8(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").lower().split("e", 1)[0].replace(".", "").lstrip("0").rstrip("0")
    return math.ceil(max(len(digits), 1) / 2) + 1


def _binary_size(value: Any) -> int:
    # botocore's parameters and parsed replies hold bytes; the wire holds base64.
    return len(value) if isinstance(value, bytes | bytearray) else len(base64.b64decode(value))


def value_size(value: Mapping[str, Any]) -> int:
    """The size DynamoDB counts for one attribute value (wire format, e.g. ``{"S": "x"}``)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return _utf8(inner)
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return _binary_size(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(_utf8(s) for s in inner)
    if kind == "NS":
        return sum(_number_size(n) for n in inner)
    if kind == "BS":
        return sum(_binary_size(b) for b in inner)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(_utf8(k) + value_size(v) + 1 for k, v in inner.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(_utf8(name) + value_size(value) for name, value in item.items())


# -- answers botocore takes for DynamoDB's own -------------------------------------------


def _answer(status: int, parsed: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = status
    return AWSResponse("https://dynamodb.local", status, HTTPHeaders(), None), parsed


def _error(code: str, message: str, **fields: Any) -> tuple[Any, dict[str, Any]]:
    return _answer(400, {"Error": {"Code": code, "Message": message}, **fields})


def _validation(message: str) -> tuple[Any, dict[str, Any]]:
    return _error("ValidationException", message)


@dataclass(frozen=True)
class KeySchema:
    """Key attributes of a table and of each of its indexes (an index page's
    ``LastEvaluatedKey`` carries the index key and the table key)."""

    table: tuple[str, ...]
    indexes: Mapping[str, tuple[str, ...]]

    def page_key(self, index: str | None) -> tuple[str, ...]:
        if index is None:
            return self.table
        return tuple(dict.fromkeys((*self.indexes.get(index, ()), *self.table)))


def key_schemas(tables: Mapping[str, Mapping[str, Any]]) -> dict[str, KeySchema]:
    """``{table name: KeySchema}`` from CloudFormation table properties by table name."""
    found = {}
    for name, props in tables.items():
        indexes = {
            str(index["IndexName"]): tuple(k["AttributeName"] for k in index["KeySchema"])
            for index in props.get("GlobalSecondaryIndexes") or ()
        }
        found[name] = KeySchema(tuple(k["AttributeName"] for k in props["KeySchema"]), indexes)
    return found


class DynamoLimits:
    """The hooks; ``now_ms`` is the clock the idempotency window runs on."""

    def __init__(self, tables: Mapping[str, KeySchema], now_ms: Callable[[], int]) -> None:
        self._tables = dict(tables)
        self._now_ms = now_ms
        self._tokens: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def install(self, events: Any) -> None:
        """Register on a botocore event emitter (before its clients are made)."""
        for event, handler in self._handlers():
            events.register(event, handler, unique_id=f"agent-streams-local-{event}")

    def uninstall(self, events: Any) -> None:
        for event, _ in self._handlers():
            events.unregister(event, unique_id=f"agent-streams-local-{event}")

    def _handlers(self) -> list[tuple[str, Callable[..., Any]]]:
        return [
            ("before-call.dynamodb.TransactWriteItems", self.before_transact_write),
            ("after-call.dynamodb.TransactWriteItems", self.after_transact_write),
            ("before-call.dynamodb.BatchWriteItem", self.before_batch_write),
            ("before-call.dynamodb.PutItem", self.before_put),
            ("before-call.dynamodb.UpdateItem", self.before_update),
            ("before-call.dynamodb.Query", self.before_page),
            ("before-call.dynamodb.Scan", self.before_page),
            ("after-call.dynamodb.Query", self.after_page),
            ("after-call.dynamodb.Scan", self.after_page),
        ]

    # -- writes ------------------------------------------------------------------------

    def before_transact_write(
        self, params: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> Any:
        body = _body(params)
        actions = body.get("TransactItems") or []
        if len(actions) > MAX_TRANSACT_ACTIONS:
            return _validation(
                f"1 validation error detected: Value of length {len(actions)} at "
                "'transactItems' failed to satisfy constraint: Member must have length "
                f"less than or equal to {MAX_TRANSACT_ACTIONS}"
            )
        sizes = [_action_size(action) for action in actions]
        if sum(sizes) > MAX_TRANSACT_BYTES:
            return _validation(
                f"Transaction request cannot be larger than 4 MB (its items add up to "
                f"{sum(sizes)} bytes)"
            )
        reasons = [
            {"Code": "ValidationError", "Message": ITEM_TOO_LARGE}
            if "Put" in action and size > MAX_ITEM_BYTES
            else {"Code": "None"}
            for action, size in zip(actions, sizes, strict=True)
        ]
        if any(r["Code"] != "None" for r in reasons):
            codes = ", ".join(r["Code"] for r in reasons)
            return _error(
                "TransactionCanceledException",
                f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
                CancellationReasons=reasons,
            )
        token = body.get("ClientRequestToken")
        if not token:
            return None
        fingerprint = _fingerprint(body)
        now = self._now_ms()
        with self._lock:
            self._tokens = {t: v for t, v in self._tokens.items() if v[1] + TOKEN_WINDOW_MS > now}
            seen = self._tokens.get(token)
        if seen is not None:
            if seen[0] != fingerprint:
                return _error(
                    "IdempotentParameterMismatchException",
                    "The request uses the same client token as a previous, but non-identical request.",
                )
            return _answer(200, {})  # it succeeded already: nothing is applied again
        context["agent_streams_token"] = (token, fingerprint)
        return None

    def after_transact_write(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        sent = context.pop("agent_streams_token", None)
        if sent is not None and getattr(http_response, "status_code", 500) == 200:
            with self._lock:
                self._tokens[sent[0]] = (sent[1], self._now_ms())

    def before_batch_write(self, params: dict[str, Any], **_: Any) -> Any:
        requests = _body(params).get("RequestItems") or {}
        count = sum(len(r) for r in requests.values())
        if count > MAX_BATCH_WRITE_REQUESTS:
            return _validation("Too many items requested for the BatchWriteItem call")
        for table_requests in requests.values():
            for request in table_requests:
                item = (request.get("PutRequest") or {}).get("Item")
                if item is not None and item_size(item) > MAX_ITEM_BYTES:
                    return _validation(ITEM_TOO_LARGE)
        return None

    def before_put(self, params: dict[str, Any], **_: Any) -> Any:
        if item_size(_body(params).get("Item") or {}) > MAX_ITEM_BYTES:
            return _validation(ITEM_TOO_LARGE)
        return None

    def before_update(self, params: dict[str, Any], **_: Any) -> Any:
        # The updated item is not known yet: what this request alone writes is a floor.
        if _action_size({"Update": _body(params)}) > MAX_ITEM_BYTES:
            return _validation(UPDATE_TOO_LARGE)
        return None

    # -- pages -------------------------------------------------------------------------

    def before_page(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        body = _body(params)
        context["agent_streams_page"] = (body.get("TableName"), body.get("IndexName"))

    def after_page(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        table, index = context.pop("agent_streams_page", (None, None))
        items = parsed.get("Items")
        schema = self._tables.get(str(table))
        if not items or schema is None:
            return
        total = kept = 0
        for item in items:
            total += item_size(item)
            if total > MAX_PAGE_BYTES:
                break
            kept += 1
        if kept == len(items):
            return
        key = schema.page_key(index)
        last = items[kept - 1]
        if kept == 0 or any(name not in last for name in key):
            return  # no key to resume from (a projection left it out): the page stays
        parsed["Items"] = items[:kept]
        parsed["Count"] = kept
        parsed["ScannedCount"] = min(int(parsed.get("ScannedCount", kept)), kept)
        parsed["LastEvaluatedKey"] = {name: last[name] for name in key}


def _body(params: Mapping[str, Any]) -> dict[str, Any]:
    body = params.get("body") or b"{}"
    parsed = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
    return parsed if isinstance(parsed, dict) else {}


def _action_size(action: Mapping[str, Any]) -> int:
    """The bytes a transaction action carries: a Put's item; an Update's key and the
    values it writes; a Delete's or ConditionCheck's key."""
    ((kind, op),) = action.items()
    if kind == "Put":
        return item_size(op.get("Item") or {})
    size = item_size(op.get("Key") or {})
    if kind == "Update":
        size += sum(value_size(v) for v in (op.get("ExpressionAttributeValues") or {}).values())
    return size


def _fingerprint(body: Mapping[str, Any]) -> str:
    rest = {k: v for k, v in body.items() if k != "ClientRequestToken"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()
