import type { TailEntry } from '../../src/console/console-tail.js';
import { ApiError, call } from '../api.js';
import { byId, fill, h } from '../dom.js';
import { bytes, clock } from '../format.js';

/** Entries shown at once; older ones leave the list as new ones come. */
const shown = 200;

interface TailRead {
  readonly entries: readonly TailEntry[];
  readonly missed: number;
  readonly last: number;
}

/**
 * A live tail: opens one on the broker, polls it, shows the newest entries first, and stops it when asked
 * or when the page goes away (the broker also closes tails nobody reads for 30 s).
 */
export function setUpTail(): { poll: () => Promise<void>; choose: (topic: string) => void; stop: () => void } {
  const form = byId<HTMLFormElement>('tail-form');
  const input = byId<HTMLInputElement>('tail-pattern');
  const stopButton = byId<HTMLButtonElement>('tail-stop');
  const status = byId('tail-status');
  const list = byId('tail');
  let tail: { id: string; pattern: string; last: number; missed: number } | undefined;
  let polling = false;

  const stop = () => {
    const current = tail;
    tail = undefined;
    stopButton.disabled = true;
    if (current === undefined) return;
    fill(status, `Stopped tailing ${current.pattern}.`);
    void call('DELETE', `/admin/tails/${encodeURIComponent(current.id)}`).catch(() => undefined);
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const pattern = input.value.trim();
    if (pattern === '') return;
    stop();
    try {
      const opened = await call<{ id: string; pattern: string; capacity: number }>('POST', '/admin/tails', { pattern });
      tail = { id: opened.id, pattern: opened.pattern, last: 0, missed: 0 };
      stopButton.disabled = false;
      fill(list);
      fill(status, `Tailing ${opened.pattern} (the broker keeps the last ${opened.capacity}).`);
    } catch (error) {
      fill(status, h('span', { class: 'error' }, error instanceof ApiError ? error.message : String(error)));
    }
  });
  stopButton.addEventListener('click', stop);
  window.addEventListener('pagehide', stop);

  const poll = async () => {
    const current = tail;
    if (current === undefined || polling) return;
    polling = true;
    try {
      const read = await call<TailRead>('GET', `/admin/tails/${encodeURIComponent(current.id)}?after=${current.last}`);
      if (tail !== current) return;
      current.last = read.last;
      current.missed += read.missed;
      for (const entry of read.entries) list.prepend(line(entry));
      while (list.childElementCount > shown) list.lastElementChild?.remove();
      if (read.missed > 0) fill(status, `Tailing ${current.pattern}: ${current.missed} messages went by faster than the page reads.`);
    } catch (error) {
      if (tail === current && error instanceof ApiError && error.status === 404) {
        tail = undefined;
        stopButton.disabled = true;
        fill(status, 'The tail was closed by the broker (idle or restarted).');
      }
    } finally {
      polling = false;
    }
  };
  return {
    poll,
    choose: (topic) => {
      input.value = topic;
    },
    stop,
  };
}

function line(entry: TailEntry): HTMLLIElement {
  if (entry.kind === 'gap') {
    return h('li', { class: 'gap' }, h('time', {}, clock(entry.time)), h('span', { class: 'topic' }, entry.topic), `lost offsets ${entry.from}–${entry.to} (engine outage)`);
  }
  return h(
    'li',
    { 'data-offset': String(entry.offset) },
    h('time', {}, clock(entry.time)),
    h('span', { class: 'topic' }, entry.topic),
    h('span', { class: 'meta' }, `#${entry.offset} ${entry.priority}${entry.encoding === 'binary' ? ` binary ${bytes(entry.bytes)}` : ''}`),
    h('code', {}, entry.preview + (entry.truncated ? ` … (${bytes(entry.bytes)})` : '')),
  );
}
