// A Lambda Node.js runtime in miniature, for the deploy rehearsal (test/rehearsal/lambda-sandbox.ts).
// Plain JavaScript: it runs on the Lambdas' Node 22 beside a bundle, with nothing else installed.
//
// Started as `node lambda-runtime-shim.mjs` in $LAMBDA_TASK_ROOT with _HANDLER=index.handler, it loads
// the handler once (the cold start) and then serves invocations one at a time (a warm container):
// { id, event, deadlineMs, requestId } in over the IPC channel, { id, result } or
// { id, error: { errorType, errorMessage } } out, the error shaped as the runtime reports it.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const taskRoot = process.env.LAMBDA_TASK_ROOT;
const [moduleName, exportName] = String(process.env._HANDLER).split('.');

function describeError(error) {
  if (error instanceof Error) return { errorType: error.name || 'Error', errorMessage: error.message };
  return { errorType: 'Error', errorMessage: String(error) };
}

let handler;
try {
  const module = await import(pathToFileURL(path.join(taskRoot, `${moduleName}.mjs`)).href);
  handler = module[exportName];
  if (typeof handler !== 'function')
    throw Object.assign(new Error(`${moduleName}.${exportName} is not a function`), { name: 'Runtime.HandlerNotFound' });
  process.send({ ready: true, node: process.versions.node });
} catch (error) {
  const { errorType, errorMessage } = describeError(error);
  process.send({
    ready: false,
    error: { errorType: errorType.startsWith('Runtime.') ? errorType : 'Runtime.ImportModuleError', errorMessage },
  });
  process.exit(1);
}

process.on('message', async ({ id, event, deadlineMs, requestId }) => {
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: process.env.REHEARSAL_FUNCTION_ARN,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
  };
  try {
    const result = await handler(event, context);
    // The runtime answers the JSON of the result; undefined becomes null.
    process.send({ id, result: JSON.parse(JSON.stringify(result ?? null)) });
  } catch (error) {
    process.send({ id, error: describeError(error) });
  }
});

// Lambda ends an invocation whose handler rejects outside its promise with Runtime.UnhandledPromiseRejection.
process.on('unhandledRejection', (reason) => {
  process.send({ fatal: { errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: describeError(reason).errorMessage } });
  process.exit(128);
});
