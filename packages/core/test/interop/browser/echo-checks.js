// Runs inside the page: the same checks as the python peers, through `new WebSocket(url, protocols)`.
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
  for (const size of [0, 125, 126, 65535, 65536, 1 << 20]) {
    const data = pattern(size);
    ws.send(data);
    const echo = new Uint8Array(await next());
    checks[`binary-${size}`] = echo.length === size && echo.every((byte, i) => byte === data[i]);
  }
  const closing = new Promise((resolve) => {
    ws.onclose = (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean });
  });
  ws.send('close:4003:server says bye');
  const serverClose = await closing;

  const second = new WebSocket(url, ['pubsub.v1']);
  await new Promise((resolve) => (second.onopen = resolve));
  second.close(4000, 'browser done');
  await new Promise((resolve) => (second.onclose = resolve));
  return { protocol: ws.protocol, extensions: ws.extensions, checks, serverClose };
}
