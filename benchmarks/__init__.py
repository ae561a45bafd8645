"""``make bench``: what the service costs, against the budgets in DESIGN.md.

    .venv/bin/python -m benchmarks [--aws-endpoint URL] [--quick]

Each module measures one thing and returns table rows (see ``report``):
``requests`` (requests per operation, counted at the AWS endpoint), ``gsi``
(per-delta writes and the index projection), ``cold_start`` (handler imports
against ``import boto3``), ``overhead`` (a handler against a bare boto3 call),
``concurrency`` (list_deltas' queries), ``end_to_end`` (writer and follower
through the local stack), ``bench_materialize`` (materialisation) and
``deletion`` (a thread of 10 streams x 10,000 deltas). ``environment`` starts
the local stack behind a counting proxy (``agent_streams_dev.local.counting``).
"""
