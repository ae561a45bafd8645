#!/bin/bash
# The Lambda Web Adapter runs this (Handler: run.sh) and proxies each invocation to it
# over HTTP on $AWS_LWA_PORT. The layer's packages are under /opt/python.
PATH=$PATH:$LAMBDA_TASK_ROOT/bin \
    PYTHONPATH=$PYTHONPATH:/opt/python:$LAMBDA_RUNTIME_DIR \
    exec python -m uvicorn --host 127.0.0.1 --port="${AWS_LWA_PORT:-8080}" --no-access-log app:app
