import t from 'tap';
import { PRIORITIES, PriorityRank, SEND_PRIORITIES, type SendPriority, comparePriority } from '../src/index.js';

t.test('control outranks every message priority (protocol.md §6)', async (t) => {
  t.same(PRIORITIES, ['high', 'normal', 'low']);
  t.same(SEND_PRIORITIES, ['control', 'high', 'normal', 'low']);
  t.same(PriorityRank, { control: 0, high: 1, normal: 2, low: 3 }, 'the same ranks the broker indexes its lanes with');
  const shuffled: SendPriority[] = ['low', 'control', 'normal', 'high', 'low', 'control'];
  t.same(shuffled.sort(comparePriority), ['control', 'control', 'high', 'normal', 'low', 'low']);
});
