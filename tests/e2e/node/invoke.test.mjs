// The AWS SDK for JavaScript v3 invoking the local stack's functions over its port, as a
// Node pipeline would in AWS. Run by tests/e2e/test_lambda_invoke_node.py, which starts the
// stack and sets LOCAL_STACK_URL, STACK_NAME, AWS_REGION and ACCOUNT_ID.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  InvokeCommand,
  LambdaClient,
  LambdaServiceException,
  ResourceNotFoundException,
} from "@aws-sdk/client-lambda";

const { LOCAL_STACK_URL: endpoint, STACK_NAME: stack, AWS_REGION: region, ACCOUNT_ID: account } =
  process.env;
assert.ok(endpoint && stack && region && account, "run me from test_lambda_invoke_node.py");

const lambda = new LambdaClient({
  endpoint,
  region,
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
  maxAttempts: 1,
});

const text = (payload) => (payload ? Buffer.from(payload).toString("utf-8") : "");

/** Invoke `<stack>-<operation>` (or `name`); the reply and its payload parsed. */
async function invoke(operation, args, { name, ...options } = {}) {
  const reply = await lambda.send(
    new InvokeCommand({
      FunctionName: name ?? `${stack}-${operation}`,
      Payload: JSON.stringify(args),
      ...options,
    }),
  );
  const body = text(reply.Payload);
  return { reply, value: body ? JSON.parse(body) : undefined };
}

const part = (delta) => ({ type: "text-delta", id: "t", delta });

async function newStream() {
  const { value: thread } = await invoke("create_thread", { title: "node" });
  const { value: streamId } = await invoke("create_stream", {
    threadId: thread.threadId,
    order: 0,
    stepOrder: 0,
  });
  return { threadId: thread.threadId, streamId };
}

test("a stream written and read back through Invoke", async () => {
  const { reply, value: thread } = await invoke("create_thread", { title: "node" });
  assert.equal(reply.StatusCode, 200);
  assert.equal(reply.ExecutedVersion, "$LATEST");
  assert.equal(reply.FunctionError, undefined);
  assert.equal(thread.title, "node");
  assert.equal(thread.status, "active");

  const { value: streamId } = await invoke("create_stream", {
    threadId: thread.threadId,
    order: 0,
    stepOrder: 0,
  });
  assert.equal(typeof streamId, "string");

  const add = (start, deltas) =>
    invoke("add_delta", { streamId, start, end: start + deltas.length, parts: deltas.map(part) });
  assert.equal((await add(0, ["Hel", "lo"])).value, true);
  assert.equal((await add(0, ["Hel", "lo"])).value, true); // a replay is accepted again

  const conflict = await add(5, ["!"]);
  assert.equal(conflict.reply.StatusCode, 200);
  assert.equal(conflict.reply.FunctionError, "Unhandled");
  assert.equal(conflict.value.errorType, "DeltaConflict");
  assert.match(conflict.value.errorMessage, /expects start 2/);
  assert.ok(Array.isArray(conflict.value.stackTrace) && conflict.value.stackTrace.length > 0);
  assert.match(conflict.reply.$metadata.requestId, /^[0-9a-f-]{36}$/);
  assert.equal(conflict.value.requestId, conflict.reply.$metadata.requestId);

  const missing = await invoke("add_delta", { streamId: "s_missing", start: 0, end: 1, parts: [part("x")] });
  assert.equal(missing.value, false);
  assert.equal(missing.reply.FunctionError, undefined);

  const finished = await invoke("finish_stream", { streamId });
  assert.equal(finished.value, null);
  assert.equal((await add(2, ["late"])).value, false); // an ended stream takes no more

  const { value: deltas } = await invoke("list_deltas", {
    threadId: thread.threadId,
    cursors: [{ streamId, cursor: 0 }],
  });
  assert.deepEqual(deltas, [{ streamId, start: 0, end: 2, parts: [part("Hel"), part("lo")] }]);
});

test("an argument the function refuses is a ValidationError function error", async () => {
  const { reply, value } = await invoke("create_stream", { threadId: "t_x", order: -1, stepOrder: 0 });
  assert.equal(reply.FunctionError, "Unhandled");
  assert.equal(value.errorType, "ValidationError");
});

test("the function named by logical id, full ARN, partial ARN and qualifier", async () => {
  const arn = `arn:aws:lambda:${region}:${account}:function:${stack}-create_thread`;
  for (const [name, options] of [
    ["CreateThreadFunction", {}],
    [arn, {}],
    [`${arn}:$LATEST`, {}],
    [`${account}:function:${stack}-create_thread`, {}],
    [`${stack}-create_thread`, { Qualifier: "$LATEST" }],
  ]) {
    const { reply, value } = await invoke("create_thread", { title: name }, { name, ...options });
    assert.equal(reply.StatusCode, 200, name);
    assert.equal(value.title, name);
  }
});

test("an unknown function is ResourceNotFoundException", async () => {
  await assert.rejects(invoke("nope", {}), (error) => {
    assert.ok(error instanceof ResourceNotFoundException);
    assert.equal(error.name, "ResourceNotFoundException");
    assert.equal(error.$metadata.httpStatusCode, 404);
    assert.equal(
      error.message,
      `Function not found: arn:aws:lambda:${region}:${account}:function:${stack}-nope:$LATEST`,
    );
    return true;
  });
  await assert.rejects(invoke("create_thread", {}, { Qualifier: "7" }), ResourceNotFoundException);
});

test("DryRun runs nothing, Event runs in the background", async () => {
  const { threadId, streamId } = await newStream();
  const delta = { streamId, start: 0, end: 1, parts: [part("x")] };
  const dry = await invoke("add_delta", delta, { InvocationType: "DryRun" });
  assert.equal(dry.reply.StatusCode, 204);
  const read = async () =>
    (await invoke("list_deltas", { threadId, cursors: [{ streamId, cursor: 0 }] })).value;
  assert.deepEqual(await read(), []);

  const event = await invoke("add_delta", delta, { InvocationType: "Event" });
  assert.equal(event.reply.StatusCode, 202);
  assert.equal(event.value, undefined);
  for (let i = 0; i < 200 && (await read()).length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.deepEqual(await read(), [{ ...delta }]);
});

test("Tail returns the invocation's log", async () => {
  const { reply } = await invoke("add_delta", { streamId: "s_x", start: 3, end: 1, parts: [part("x")] }, { LogType: "Tail" });
  assert.equal(reply.FunctionError, "Unhandled");
  const log = Buffer.from(reply.LogResult, "base64").toString("utf-8");
  assert.match(log, /^START RequestId: [0-9a-f-]{36} Version: \$LATEST\n/);
  assert.match(log, /\[ERROR\] ValidationError: /);
  assert.match(log, /\nEND RequestId: .*\nREPORT RequestId: .*\tDuration: [\d.]+ ms\t/);
});

test("payloads Lambda refuses", async () => {
  await assert.rejects(
    invoke("create_thread", { title: "x".repeat(6 * 1024 * 1024) }),
    (error) => {
      assert.ok(error instanceof LambdaServiceException);
      assert.equal(error.name, "RequestEntityTooLargeException");
      assert.equal(error.$metadata.httpStatusCode, 413);
      return true;
    },
  );
  await assert.rejects(
    lambda.send(new InvokeCommand({ FunctionName: `${stack}-create_thread`, Payload: "{not json" })),
    (error) => {
      assert.equal(error.name, "InvalidRequestContentException");
      assert.equal(error.$metadata.httpStatusCode, 400);
      assert.match(error.message, /^Could not parse request body into json/);
      return true;
    },
  );
});
