"""Snapshots in storage (moto): written once with their stream's count, read back whole, in
one request, found without the count, deleted with the stream's deltas."""

from __future__ import annotations

import os

import pytest

from agent_streams.storage.repository import Repository
from agent_streams.storage.snapshots import CHUNK_BYTES, MAX_SNAPSHOT_BYTES

from .helpers import DELTA_TTL, EXPIRED, NOW, delta, seed, stream


def ended(repo: Repository, stream_id: str = "s1", *, retention: int | None = None) -> None:
    seed(repo, stream(stream_id, retention_seconds=retention))
    assert repo.append(stream_id, delta(0, 3), NOW).written
    assert repo.finish(stream_id, NOW, None, f"cleanup-{stream_id}-0", NOW // 1000 + 3600).changed


def test_a_snapshot_is_stored_once_and_read_back_whole(dynamo_repo: Repository) -> None:
    ended(dynamo_repo)
    data = os.urandom(CHUNK_BYTES * 2 + 17)  # three items
    assert dynamo_repo.store_snapshot("s1", "finished", data, NOW, DELTA_TTL)
    found = dynamo_repo.get_stream("s1", NOW)
    assert found is not None
    assert found.snapshot_chunks == 3
    assert dynamo_repo.read_snapshot("s1", 3) == data
    assert dynamo_repo.find_snapshot("s1") == data
    # Once: a second one (another attempt of the same record) writes nothing.
    assert not dynamo_repo.store_snapshot("s1", "finished", b"other", NOW, DELTA_TTL)
    assert dynamo_repo.read_snapshot("s1", 3) == data


def test_the_deltas_stay_what_they_were(dynamo_repo: Repository) -> None:
    ended(dynamo_repo)
    assert dynamo_repo.store_snapshot("s1", "finished", b"x", NOW, DELTA_TTL)
    (page,) = dynamo_repo.read_deltas([("s1", 0)], NOW, 1000)
    assert [(d.start, d.end) for d in page] == [(0, 3)]


def test_only_for_the_status_it_was_made_for(dynamo_repo: Repository) -> None:
    ended(dynamo_repo)
    assert not dynamo_repo.store_snapshot("s1", "aborted", b"x", NOW, DELTA_TTL)
    seed(dynamo_repo, stream("live"))
    with pytest.raises(ValueError, match="ended"):
        dynamo_repo.store_snapshot("live", "streaming", b"x", NOW, DELTA_TTL)
    assert dynamo_repo.find_snapshot("s1") is None
    assert dynamo_repo.find_snapshot("live") is None


def test_not_for_a_stream_gone_or_expired(dynamo_repo: Repository) -> None:
    assert not dynamo_repo.store_snapshot("missing", "finished", b"x", NOW, DELTA_TTL)
    assert dynamo_repo.find_snapshot("missing") is None
    ended(dynamo_repo)
    after_its_ttl = (NOW // 1000 + 3600) * 1000
    assert not dynamo_repo.store_snapshot("s1", "finished", b"x", after_its_ttl, DELTA_TTL)
    assert EXPIRED < NOW // 1000 + 3600


def test_the_largest_fits_and_one_more_byte_does_not(dynamo_repo: Repository) -> None:
    ended(dynamo_repo)
    data = os.urandom(MAX_SNAPSHOT_BYTES)
    assert dynamo_repo.store_snapshot("s1", "finished", data, NOW, DELTA_TTL)
    assert dynamo_repo.read_snapshot("s1", 10) == data
    ended(dynamo_repo, "s2")
    with pytest.raises(ValueError, match="over"):
        dynamo_repo.store_snapshot("s2", "finished", data + b"!", NOW, DELTA_TTL)
    assert dynamo_repo.find_snapshot("s2") is None


def test_deleting_the_streams_deltas_deletes_it(dynamo_repo: Repository) -> None:
    """Every deletion pages through the stream's items: the snapshot's are among them."""
    ended(dynamo_repo)
    assert dynamo_repo.store_snapshot("s1", "finished", b"snap", NOW, DELTA_TTL)
    starts, last = dynamo_repo.delta_starts("s1", None, 1000)
    assert (sorted(starts), last) == ([-1, 0], True)
    dynamo_repo.delete_deltas("s1", starts, with_stream=True)
    assert dynamo_repo.find_snapshot("s1") is None


def test_delete_snapshot_removes_its_items_and_tolerates_them_gone(
    dynamo_repo: Repository,
) -> None:
    ended(dynamo_repo)
    assert dynamo_repo.store_snapshot("s1", "finished", os.urandom(CHUNK_BYTES + 1), NOW, DELTA_TTL)
    dynamo_repo.delete_snapshot("s1", 2)
    assert dynamo_repo.find_snapshot("s1") is None
    assert dynamo_repo.read_snapshot("s1", 2) is None
    dynamo_repo.delete_snapshot("s1", 2)


def test_retention_is_kept_with_the_stream(dynamo_repo: Repository) -> None:
    ended(dynamo_repo, retention=3 * 86_400)
    found = dynamo_repo.get_stream("s1", NOW)
    assert found is not None
    assert found.retention_seconds == 3 * 86_400
    assert found.retention_ms == 3 * 86_400_000
