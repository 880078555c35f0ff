// The console's only ways to ecsd: the ECS API (POST / with X-Amz-Target,
// JSON 1.1, as every SDK calls it) and, for containers' output, readLogs.
'use strict';

const ECS_TARGET = 'AmazonEC2ContainerServiceV20141113.';
const CREDS_KEY = 'ecsd-console-credentials';

// ApiError carries AWS's error code and message, shown to the user as is.
class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
  get text() { return this.code ? `${this.code}: ${this.message}` : this.message; }
}

// Errors that mean "sign in" rather than "this call failed".
const AUTH_ERRORS = new Set([
  'MissingAuthenticationTokenException', 'UnrecognizedClientException',
  'InvalidSignatureException', 'IncompleteSignatureException',
]);

// Credentials live in sessionStorage: gone when the tab closes, never
// sent anywhere but into signatures.
const Credentials = {
  get() {
    try { return JSON.parse(sessionStorage.getItem(CREDS_KEY)); } catch { return null; }
  },
  set(c) { sessionStorage.setItem(CREDS_KEY, JSON.stringify(c)); },
  clear() { sessionStorage.removeItem(CREDS_KEY); },
};

// post sends a JSON 1.1 request to path, signed when credentials are
// known, and returns the decoded answer or throws an ApiError.
// service is the SigV4 signing name: 'ecs', or 'logs' for the CloudWatch
// Logs API.
async function post(path, target, input, service = 'ecs') {
  const body = JSON.stringify(input || {});
  const headers = { 'Content-Type': 'application/x-amz-json-1.1' };
  if (target) headers['X-Amz-Target'] = target;
  const creds = Credentials.get();
  if (creds) {
    Object.assign(headers, await SigV4.sign({
      method: 'POST', path, host: location.host, headers, body, creds,
      region: creds.region || 'us-east-1', service,
    }));
  }
  let resp;
  try {
    resp = await fetch(path, { method: 'POST', headers, body, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiError('', `ecsd did not answer: ${e.message}`, 0);
  }
  const text = await resp.text();
  let doc = {};
  try { doc = text ? JSON.parse(text) : {}; } catch { doc = { message: text }; }
  if (!resp.ok) {
    let code = doc.__type || resp.headers.get('x-amzn-ErrorType') || `HTTP ${resp.status}`;
    code = code.split('#').pop().split(':')[0];
    throw new ApiError(code, doc.message || doc.Message || '', resp.status);
  }
  return doc;
}

// ecs calls one ECS operation.
function ecs(op, input) {
  return post('/', ECS_TARGET + op, input);
}

// ecsAll follows nextToken through a List* operation, up to limit items.
async function ecsAll(op, input, key, limit = 1000) {
  let items = [];
  let nextToken;
  do {
    const out = await ecs(op, Object.assign({}, input, nextToken ? { nextToken } : {}));
    items = items.concat(out[key] || []);
    nextToken = out.nextToken;
  } while (nextToken && items.length < limit);
  return items;
}

// describeAll calls a Describe* operation on ids in chunks of size.
async function describeAll(op, input, idsKey, ids, outKey, size) {
  let out = [];
  for (let i = 0; i < ids.length; i += size) {
    const res = await ecs(op, Object.assign({}, input, { [idsKey]: ids.slice(i, i + size) }));
    out = out.concat(res[outKey] || []);
  }
  return out;
}

// readLogs is the console's one way to a container's output: a list of
// {timestamp, message}. Today it asks ecsd for what the runtime kept (POST
// /console/logs, the seam `ecsd logs` reads through). Once ecsd serves the
// CloudWatch Logs API, the awslogs containers' output can come from
//   post('/', 'Logs_20140328.GetLogEvents', {logGroupName, logStreamName, startFromHead: true})
// whose answer has the same events shape; the group and stream follow from
// the container definition's logConfiguration (prefix/container/task-id),
// and the request is signed for the service 'logs' (post's last argument).
async function readLogs(task, container) {
  const taskId = task.taskArn.split('/').pop();
  const out = await post('/console/logs', null, { taskId, container: container.name });
  return out.events || [];
}
