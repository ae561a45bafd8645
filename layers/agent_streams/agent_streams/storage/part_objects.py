"""The S3 bucket of spilled parts (``storage.spill``): put, get, and delete a stream's.

Every request goes through :func:`agent_streams.retries.retrying`, as every AWS call of
the service does: ``SlowDown``, 503 and other 5xx replies and broken connections (a GET's
body cut off while read included) are retried with jittered backoff inside the deadline;
what outlasts the retries is ``ServiceUnavailable`` (503, safe to retry), anything else
``InternalError``. Objects are put and read concurrently, on the storage's thread pool.

A missing object reads as None (a GET of a key that is not there is ``NoSuchKey`` only
for a caller that may list the bucket; the template grants that). Deleting lists the
stream's prefix, a page of at most 1,000 keys at a time, and deletes each page with one
``DeleteObjects``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from agent_streams import aws, retries
from agent_streams.config import Settings
from agent_streams.storage.spill import PartObject

Concurrently = Callable[[Sequence[Callable[[], Any]]], list[Any]]

SERVICE = "S3"
#: Keys one ``ListObjectsV2`` page and one ``DeleteObjects`` take at most.
DELETE_BATCH = 1000
_MISSING = frozenset({"NoSuchKey", "404"})


class _NotDeleted(Exception):
    """``DeleteObjects`` could not delete some keys, for reasons worth another attempt."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        codes = sorted({str(e.get("Code")) for e in errors})
        super().__init__(f"{len(errors)} keys not deleted ({', '.join(codes)})")
        self.errors = errors


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt: what is for every AWS call, and a body cut off mid-read."""
    from botocore.exceptions import IncompleteReadError, ResponseStreamingError

    if isinstance(exc, IncompleteReadError | ResponseStreamingError | _NotDeleted):
        return True
    return retries.is_transient(exc)


@contextmanager
def mapped(what: str) -> Iterator[None]:
    """Raise the contract's error for any S3 failure in the block."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except _NotDeleted as exc:
        raise retries.unavailable(SERVICE, what, str(exc)) from exc
    except (ClientError, BotoCoreError) as exc:
        if is_transient(exc):
            raise retries.unavailable(
                SERVICE, what, aws.error_code(exc) or type(exc).__name__
            ) from exc
        raise retries.failure(exc, SERVICE, what) from exc


class PartObjects:
    def __init__(self, settings: Settings, concurrently: Concurrently) -> None:
        self._settings = settings
        self._concurrently = concurrently

    def _client(self) -> Any:
        return aws.client("s3", self._settings.region)

    @property
    def configured(self) -> bool:
        return bool(self._settings.spill_bucket)

    def _bucket(self) -> str:
        return self._settings.require("spill_bucket")

    def put(self, objects: Sequence[PartObject]) -> None:
        """Store the objects (all of them, or raise)."""
        if objects:
            self._concurrently([partial(self._put, o) for o in objects])

    def _put(self, found: PartObject) -> None:
        client, bucket = self._client(), self._bucket()
        what = "store a spilled part"
        with mapped(what):
            retries.retrying(
                lambda: client.put_object(
                    Bucket=bucket, Key=found.key, Body=found.body, ContentType="application/json"
                ),
                what=what,
                transient=is_transient,
            )

    def get(self, keys: Sequence[str]) -> list[bytes | None]:
        """Each object's bytes, in order (None: not there)."""
        found: list[bytes | None] = self._concurrently([partial(self._get, k) for k in keys])
        return found

    def _get(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        client, bucket = self._client(), self._bucket()
        what = "read a spilled part"

        def attempt() -> bytes | None:
            try:
                reply = client.get_object(Bucket=bucket, Key=key)
            except ClientError as exc:
                if aws.error_code(exc) in _MISSING:
                    return None
                raise
            # Read within the attempt: a body cut off is retried with the request.
            data: bytes = reply["Body"].read()
            return data

        with mapped(what):
            return retries.retrying(attempt, what=what, transient=is_transient)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; how many there were. Nothing can have been
        stored without a bucket, so there is nothing to delete then."""
        if not self.configured:
            return 0
        client, bucket = self._client(), self._bucket()
        deleted = 0
        while True:
            what = "list spilled parts"
            with mapped(what):
                page = retries.retrying(
                    lambda: client.list_objects_v2(
                        Bucket=bucket, Prefix=prefix, MaxKeys=DELETE_BATCH
                    ),
                    what=what,
                    transient=is_transient,
                )
            keys = [str(entry["Key"]) for entry in page.get("Contents", [])]
            if keys:
                self._delete(client, bucket, keys)
                deleted += len(keys)
            # Listing is strongly consistent: the next page starts after what is gone.
            if not page.get("IsTruncated"):
                return deleted

    def _delete(self, client: Any, bucket: str, keys: list[str]) -> None:
        pending = [keys]
        what = "delete spilled parts"

        def attempt() -> None:
            reply = client.delete_objects(
                Bucket=bucket,
                Delete={"Objects": [{"Key": key} for key in pending[0]], "Quiet": True},
            )
            errors = [e for e in reply.get("Errors", []) if e.get("Code") not in _MISSING]
            if errors:
                pending[0] = [str(e["Key"]) for e in errors]
                if all(_transient_code(str(e.get("Code"))) for e in errors):
                    raise _NotDeleted(errors)
                raise retries.refused(SERVICE, what, str(_NotDeleted(errors)), _NotDeleted(errors))

        with mapped(what):
            retries.retrying(attempt, what=what, transient=is_transient)


def _transient_code(code: str) -> bool:
    return code in retries.TRANSIENT_CODES or code == "InternalError"
