"""One item at a time, through PynamoDB's public API: get, save, update, delete.

Each call is retried while its failure is transient (``agent_streams.retries``) and
any failure left is the contract's error (``storage.errors``). A conditional write
whose condition did not hold is not a failure: it answers False.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pynamodb.exceptions import DoesNotExist, PynamoDBException
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from agent_streams.retries import retrying
from agent_streams.storage.errors import condition_failed, is_transient, mapped

M = TypeVar("M", bound=Model)


def get(model: type[M], hash_key: str, *, what: str) -> M | None:
    """The item (read strongly consistent), or None."""
    with mapped(what):
        try:
            return retrying(
                lambda: model.get(hash_key, consistent_read=True),
                what=what,
                transient=is_transient,
            )
        except DoesNotExist:
            return None


def save(item: Model, condition: Condition | None, *, what: str) -> bool:
    return _conditional(lambda: item.save(condition=condition), what)


def update(
    item: Model, actions: Sequence[Action], condition: Condition | None, *, what: str
) -> bool:
    """Update the item; on success ``item`` holds all its attributes as written."""
    return _conditional(lambda: item.update(actions=list(actions), condition=condition), what)


def delete(item: Model, condition: Condition | None, *, what: str) -> bool:
    return _conditional(lambda: item.delete(condition=condition), what)


def _conditional(write: Callable[[], Any], what: str) -> bool:
    """Whether the write was made (False: its condition did not hold)."""
    with mapped(what):
        try:
            retrying(write, what=what, transient=is_transient)
        except PynamoDBException as exc:
            if condition_failed(exc):
                return False
            raise
    return True
