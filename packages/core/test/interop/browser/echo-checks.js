// Runs inside the page: the matrix's checks (test/interop/matrix.ts) through `new WebSocket(url, protocols)`.
// The browser API can neither send a fragmented message nor a ping, so those checks are not run here; it
// receives fragments (our server answers "fragments" with a fragmented message: fragments-out).
async function browserEcho(url) {
  const pattern = (size) => {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3) & 0xff;
    return bytes;
  };
  const ws = new WebSocket(url, ['pubsub.v1']);
  ws.binaryType = 'arraybuffer';
  const inbox = [];
  const waiters = [];
  ws.onmessage = (event) => {
    const waiter = waiters.shift();
    if (waiter) waiter(event.data);
    else inbox.push(event.data);
  };
  const next = () => (inbox.length > 0 ? Promise.resolve(inbox.shift()) : new Promise((resolve) => waiters.push(resolve)));
  await new Promise((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error('WebSocket error before open'));
  });
  const checks = {};
  for (const [name, text] of [['text-ascii', 'hello, switchboard'], ['text-utf8', 'κόσμε 🚀 ünïcödé 世界']]) {
    ws.send(text);
    checks[name] = (await next()) === text;
  }
  for (const [name, size] of [['binary-0', 0], ['binary-125', 125], ['binary-126', 126], ['binary-65535', 65535], ['binary-65536', 65536], ['binary-1MiB', 1 << 20]]) {
    const data = pattern(size);
    ws.send(data);
    const echo = await next();
    const bytes = echo instanceof ArrayBuffer ? new Uint8Array(echo) : undefined;
    checks[name] = bytes !== undefined && bytes.length === size && bytes.every((byte, i) => byte === data[i]);
  }
  checks['fragments-in'] = null;
  ws.send('fragments');
  checks['fragments-out'] = (await next()) === 'fragmented κόσμε';
  checks['peer-ping'] = null;
  const closing = new Promise((resolve) => {
    ws.onclose = (event) => resolve(event);
  });
  ws.send('close:4001:bye from switchboard');
  const event = await closing;
  checks['close-from-us'] = event.code === 4001 && event.reason === 'bye from switchboard' && event.wasClean;

  const second = new WebSocket(url, ['pubsub.v1']);
  await new Promise((resolve) => (second.onopen = resolve));
  second.close(4000, 'bye from peer');
  await new Promise((resolve) => (second.onclose = resolve));
  return { subprotocol: ws.protocol, extensions: ws.extensions, checks };
}

// Offers pubsub.v1 to a server that selects no subprotocol: resolves true when the browser fails the
// connection (RFC 6455 §4.1 lets a client do so, and browsers do).
async function browserAbortsWithoutSubprotocol(url) {
  const ws = new WebSocket(url, ['pubsub.v1']);
  return new Promise((resolve) => {
    let opened = false;
    ws.onopen = () => {
      opened = true;
      ws.close(1000);
    };
    ws.onclose = (event) => resolve(!opened && event.code === 1006);
  });
}
