// Page-side code for the Chromium tests, plain JavaScript (functions compiled by tsx carry helpers that
// do not exist in the page). The page imports the SDK bundle as `window.switchboard`; the test drives
// `window.harness` with page.evaluate and reads what the page saw.
window.harness = {
  client: undefined,
  /** What the page received, in order: { topic, kind, size, priority, text } */
  received: [],
  /** Connection state changes: "state closeCode" */
  states: [],
  errors: [],

  async connect(url) {
    const { createClient } = window.switchboard;
    const client = createClient({ url, reconnect: { initialDelayMs: 100, maxDelayMs: 500 } });
    this.client = client;
    client.on('state', (change) => this.states.push(`${change.state}${change.closeCode === undefined ? '' : ` ${change.closeCode}`}`));
    client.on('error', (error) => this.errors.push(`${error.code}: ${error.message}`));
    const record = (message) => {
      const binary = message.data instanceof Uint8Array;
      this.received.push({
        topic: message.topic,
        kind: binary ? 'binary' : typeof message.data,
        size: binary ? message.data.length : JSON.stringify(message.data).length,
        priority: message.priority,
        text: binary ? '' : JSON.stringify(message.data).slice(0, 100),
        checksum: binary ? checksum(message.data) : 0,
      });
    };
    await Promise.all([client.subscribe('chat.*', record), client.subscribe('files.>', record), client.subscribe('alerts.*', record)]);
    return client.state;
  },

  async publishText(topic, data, priority) {
    return this.client.publish(topic, data, { priority });
  },

  async publishBinary(topic, length, seed, priority) {
    return this.client.publish(topic, pattern(length, seed), { priority });
  },

  /** Starts a large upload, then an urgent and a same-priority publish while it is under way. */
  async uploadWithUrgent(length) {
    const upload = this.client.publish('files.upload', pattern(length, 9), { priority: 'low' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const urgent = this.client.publish('alerts.fire', 'from the browser', { priority: 'high' });
    const behind = this.client.publish('alerts.later', 'behind the upload', { priority: 'low' });
    const acks = await Promise.all([upload, urgent, behind]);
    return acks.map((ack) => ack.offset);
  },

  topics() {
    return this.received.map((message) => message.topic);
  },
};

function pattern(length, seed) {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index++) bytes[index] = (index * 31 + seed) & 0xff;
  return bytes;
}

function checksum(bytes) {
  let sum = 0;
  for (let index = 0; index < bytes.length; index++) sum = (sum * 31 + bytes[index]) >>> 0;
  return sum;
}
