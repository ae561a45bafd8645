"""Transactions through PynamoDB's public ``TransactWrite``, their items named.

Every write that decides something is one ``TransactWriteItems``: appends and
terminal transitions, stream creation. Each item asks for its old image on a
failed condition (``ReturnValuesOnConditionCheckFailure: ALL_OLD``), so a
cancelled transaction tells what it found without another read.

DynamoDB answers a cancellation with one reason per item, in the order the items
were sent. PynamoDB sends them grouped — condition checks, deletes, puts, then
updates — whatever order they were added in (``tests/unit/storage`` holds it to
that), so a :class:`Transaction` names its items and reads the reasons by name.

:func:`write` retries a transaction cancelled by a throttled or conflicting item
(``storage.errors``), like any throttled request; one cancelled only by its
conditions is the outcome the caller reads (:class:`Cancelled`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import CancellationReason, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from agent_streams.retries import retrying
from agent_streams.storage.errors import (
    REASON_CONDITION_FAILED,
    cancelled_by_conditions,
    is_transient,
    mapped,
)
from agent_streams.storage.models import connection
from agent_streams_protocol.errors import InternalError

ALL_OLD = "ALL_OLD"
#: The order in which PynamoDB sends a transaction's items, by kind.
_SENT_ORDER = {"check": 0, "delete": 1, "put": 2, "update": 3}


@dataclass(frozen=True)
class Cancelled:
    """A transaction DynamoDB cancelled because conditions did not hold."""

    reasons: dict[str, CancellationReason | None]

    def failed(self, name: str) -> bool:
        """Whether the condition of item ``name`` did not hold."""
        reason = self.reasons.get(name)
        return reason is not None and reason.code == REASON_CONDITION_FAILED

    def item(self, name: str) -> dict[str, Any] | None:
        """The item ``name`` as found, when its condition failed and it existed."""
        reason = self.reasons.get(name)
        if reason is None or reason.code != REASON_CONDITION_FAILED:
            return None
        return reason.raw_item or None


class Transaction:
    """The items of one ``TransactWriteItems``, each under a name."""

    def __init__(self) -> None:
        self._items: list[tuple[str, str, Callable[[TransactWrite], None]]] = []

    def check(self, name: str, model: type[Model], hash_key: str, condition: Condition) -> None:
        self._add(
            "check", name, lambda tx: tx.condition_check(model, hash_key, condition=condition)
        )

    def put(self, name: str, item: Model, condition: Condition | None) -> None:
        self._add("put", name, lambda tx: tx.save(item, condition=condition, return_values=ALL_OLD))

    def update(
        self, name: str, item: Model, actions: Sequence[Action], condition: Condition
    ) -> None:
        self._add(
            "update",
            name,
            lambda tx: tx.update(
                item, actions=list(actions), condition=condition, return_values=ALL_OLD
            ),
        )

    def _add(self, kind: str, name: str, add: Callable[[TransactWrite], None]) -> None:
        if name in self.names():
            raise ValueError(f"two items named {name!r}")
        self._items.append((kind, name, add))

    def names(self) -> list[str]:
        """The items' names in the order they are sent (and their reasons come back)."""
        return [name for kind, name, _ in sorted(self._items, key=lambda i: _SENT_ORDER[i[0]])]

    def commit(self) -> None:
        with TransactWrite(connection=connection()) as tx:
            for _, _, add in self._items:
                add(tx)


def write(transaction: Transaction, what: str) -> Cancelled | None:
    """Commit ``transaction``: None once written, :class:`Cancelled` if conditions failed.

    Throttled and conflicting items are retried within the deadline, then
    ``ServiceUnavailable``; any other failure is the contract's error too.
    """
    with mapped(what):
        try:
            retrying(transaction.commit, what=what, transient=is_transient)
        except TransactWriteError as exc:
            if not cancelled_by_conditions(exc):
                raise
            names = transaction.names()
            reasons = exc.cancellation_reasons
            if len(reasons) != len(names):
                raise InternalError(
                    f"DynamoDB gave {len(reasons)} cancellation reasons for the "
                    f"{len(names)} items of a transaction to {what}"
                ) from exc
            return Cancelled(dict(zip(names, reasons, strict=True)))
    return None
