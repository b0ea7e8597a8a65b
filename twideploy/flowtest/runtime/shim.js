'use strict';
// Runs one Twilio Function the way Twilio's Serverless runtime does, offline, for `twideploy test`.
//
// Started by twideploy/flowtest/functions.py, which writes one JSON line on stdin (the invocation:
// the function's file, event, the names of the variables, whose values are in this process's
// environment as on Twilio, the service's functions and assets) and then answers
// the HTTP requests the function makes. Everything this process says goes to stdout as JSON
// lines: {type: "log"} for console output, {type: "http"} for an outbound request (the answer
// comes back on stdin: which mock, if any, answers is decided in Python, by the same code that
// answers Studio's HTTP Request widget), {type: "started"} when the handler is called, and one
// {type: "done"} with the response as Studio would receive it. The Python side enforces the
// timeout and ends this process once it has its answer or gives up.
//
// What it mirrors is @twilio/runtime-handler's (twilio-run's) functionRunner and route:
// `context` is {PATH, DOMAIN_NAME, ...variables, getTwilioClient}; `event` the parameters plus
// `request` {headers, cookies} (runtime-handler 1.2+); callback(null, string) is text/plain,
// TwiML text/xml, a Twilio.Response its own status, headers and body, anything else JSON;
// callback(err), a throw or a rejected async handler is a 500.

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const util = require('util');
const { createRequire } = require('module');

const writeProtocol = process.stdout.write.bind(process.stdout);
// fetch's Response, kept: the global name is Twilio.Response's in a function, as in twilio-run.
const FetchResponse = globalThis.Response;

function send(message) {
  writeProtocol(JSON.stringify(message) + '\n');
}

function captureConsole() {
  const levels = { log: 'info', info: 'info', debug: 'debug', warn: 'warn', error: 'error', trace: 'error' };
  for (const [method, level] of Object.entries(levels)) {
    console[method] = (...args) => send({ type: 'log', level, text: util.format(...args) });
  }
  process.stdout.write = (chunk) => {
    send({ type: 'log', level: 'info', text: String(chunk).replace(/\n$/, '') });
    return true;
  };
}

// One question at a time goes to Python per outbound request; answers come back by id.
const waiting = new Map();
let lastQuestion = 0;

function ask(question) {
  lastQuestion += 1;
  const id = lastQuestion;
  send({ ...question, id });
  return new Promise((resolve) => waiting.set(id, resolve));
}

function offline(what) {
  return () => {
    throw new Error(`${what} is not available in flow tests: they run offline, without a Twilio account`);
  };
}

/** Twilio.Response as the runtime has it: a status code, headers (and cookies) and a body. */
class Response {
  constructor(options = {}) {
    this.statusCode = options.statusCode || 200;
    this.headers = options.headers || {};
    this.body = options.body;
  }
  setStatusCode(statusCode) {
    this.statusCode = statusCode;
    return this;
  }
  setBody(body) {
    this.body = body;
    return this;
  }
  setHeaders(headers) {
    if (headers && typeof headers === 'object') {
      this.headers = headers;
    }
    return this;
  }
  appendHeader(key, value) {
    this.headers[key] = value;
    return this;
  }
  setCookie(key, value, attributes = []) {
    const cookie = [`${key}=${value}`, ...attributes].join(';');
    const cookies = this.headers['Set-Cookie'] || [];
    this.headers['Set-Cookie'] = [...(Array.isArray(cookies) ? cookies : [cookies]), cookie];
    return this;
  }
  removeCookie(key) {
    return this.setCookie(key, '', ['Max-Age=0']);
  }
}

/** The Twilio global: Response here, the rest (twiml, jwt, ...) from the twilio package, required
 * only when used (the service's own version when it depends on it, else the runtime's). */
function twilioGlobal(functionFile, runtimeRequire) {
  let twilio;
  const load = () => {
    if (!twilio) {
      try {
        twilio = createRequire(functionFile)('twilio');
      } catch {
        twilio = runtimeRequire('twilio');
      }
    }
    return twilio;
  };
  return new Proxy({ Response }, {
    get: (own, key) => (key in own ? own[key] : load()[key]),
  });
}

function isTwiml(value) {
  const name = value.constructor && value.constructor.name;
  return ['VoiceResponse', 'MessagingResponse', 'FaxResponse'].includes(name) && typeof value.toString === 'function';
}

function headerValue(headers, name) {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : String(headers[key]);
}

function encoded(body) {
  if (body === undefined || body === null) {
    return '';
  }
  if (typeof body === 'string') {
    return body;
  }
  if (Buffer.isBuffer(body)) {
    return body.toString('utf8');
  }
  return JSON.stringify(body);
}

/** What Studio receives for callback(null, result): status, content type and body text. */
function reply(result) {
  if (typeof result === 'string') {
    return { status: 200, contentType: 'text/plain', headers: {}, body: result };
  }
  if (result && typeof result === 'object' && isTwiml(result)) {
    return { status: 200, contentType: 'text/xml', headers: {}, body: result.toString() };
  }
  if (result instanceof Response) {
    const stated = headerValue(result.headers, 'content-type');
    const natural = typeof result.body === 'string' ? 'text/plain' : 'application/json';
    return { status: result.statusCode, contentType: stated || natural, headers: result.headers, body: encoded(result.body) };
  }
  return { status: 200, contentType: 'application/json', headers: {}, body: encoded(result) };
}

/** What Studio receives for callback(err) or a throw: a 500, and the error named for the test report. */
function failure(err) {
  if (err instanceof Error) {
    const body = JSON.stringify({ message: err.message, name: err.name, stack: err.stack });
    return { status: 500, contentType: 'application/json', headers: {}, body, error: `${err.name}: ${err.message}` };
  }
  const body = encoded(err);
  return { status: 500, contentType: typeof err === 'string' ? 'text/plain' : 'application/json', headers: {}, body, error: body };
}

let finished = false;

function finish(outcome) {
  if (!finished) {
    finished = true;
    send({ type: 'done', ...outcome });
  }
}

function interceptHttp(runtimeRequire) {
  const { BatchInterceptor } = runtimeRequire('@mswjs/interceptors');
  const { ClientRequestInterceptor } = runtimeRequire('@mswjs/interceptors/ClientRequest');
  const { FetchInterceptor } = runtimeRequire('@mswjs/interceptors/fetch');
  const interceptor = new BatchInterceptor({
    name: 'twideploy-flowtest',
    interceptors: [new ClientRequestInterceptor(), new FetchInterceptor()],
  });
  interceptor.apply();
  interceptor.on('request', async ({ request, controller }) => {
    const body = request.body === null ? null : await request.text();
    const answer = await ask({ type: 'http', method: request.method, url: request.url, body });
    const empty = [204, 205, 304].includes(answer.status) || request.method === 'HEAD';
    controller.respondWith(new FetchResponse(empty ? null : answer.body, {
      status: answer.status,
      headers: answer.headers,
    }));
  });
}

function run(invocation) {
  const runtimeRequire = createRequire(path.join(invocation.runtimeModules, 'runtime.js'));
  interceptHttp(runtimeRequire);
  const domain = invocation.domainName;
  global.Twilio = twilioGlobal(invocation.functionFile, runtimeRequire);
  global.Response = Response;
  const functions = Object.fromEntries(
    Object.entries(invocation.functions).map(([name, file]) => [name, { path: file }]),
  );
  const assets = Object.fromEntries(
    Object.entries(invocation.assets).map(([name, file]) => [name, { path: file, open: () => fs.readFileSync(file, 'utf8') }]),
  );
  global.Runtime = {
    getFunctions: () => functions,
    getAssets: () => assets,
    getSync: offline('Runtime.getSync()'),
  };
  global.Functions = functions;
  const context = {
    PATH: invocation.path,
    DOMAIN_NAME: domain,
    ...Object.fromEntries(invocation.variables.map((name) => [name, process.env[name]])),
    getTwilioClient: offline('context.getTwilioClient()'),
  };
  const event = {
    ...invocation.event,
    request: {
      headers: {
        host: domain,
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': 'TwilioProxy/1.1',
      },
      cookies: {},
    },
  };
  const callback = (err, result) => finish(err ? failure(err) : reply(result));
  process.on('uncaughtException', (err) => finish(failure(err)));
  process.on('unhandledRejection', (err) => finish(failure(err)));
  send({ type: 'started' });
  try {
    const { handler } = require(invocation.functionFile);
    if (typeof handler !== 'function') {
      throw new Error(`${invocation.path} exports no handler function (exports.handler = ...)`);
    }
    Promise.resolve(handler(context, event, callback)).catch((err) => finish(failure(err)));
  } catch (err) {
    finish(failure(err));
  }
}

captureConsole();
let invocation = null;
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line);
  if (invocation === null) {
    invocation = message;
    run(invocation);
  } else {
    waiting.get(message.id)(message);
    waiting.delete(message.id);
  }
});
