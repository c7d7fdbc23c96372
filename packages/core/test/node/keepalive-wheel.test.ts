// The keepalive wheel: one timer for every connection with the same ping interval; each member is visited
// once per revolution, whatever other members join or leave meanwhile.
import t from 'tap';
import { KeepaliveWheel, type WheelMember } from '../../src/node/keepalive-wheel.js';

interface Member extends WheelMember {
  name: string;
}

const member = (name: string): Member => ({ name, keepalivePlace: -1 });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

t.test('each member is visited once per interval; a removed member is not, and the others keep their turn', async (t) => {
  const visits = new Map<string, number>();
  const wheel = new KeepaliveWheel<Member>(80, (m) => visits.set(m.name, (visits.get(m.name) ?? 0) + 1));
  const members = Array.from({ length: 20 }, (_, n) => member(`m${n}`));
  for (const m of members) wheel.add(m);
  t.ok(members.every((m) => m.keepalivePlace >= 0), 'each knows its place');
  // Removing from the middle moves the slot's last member into the gap.
  wheel.remove(members[3]!);
  wheel.remove(members[7]!);
  wheel.remove(members[3]!); // twice: nothing
  t.equal(members[3]!.keepalivePlace, -1);
  await sleep(400); // about five revolutions
  for (const m of members) {
    const count = visits.get(m.name) ?? 0;
    if (m === members[3] || m === members[7]) t.equal(count, 0, `${m.name} removed, never visited`);
    else t.ok(count >= 2 && count <= 7, `${m.name} visited ${count} times in ~5 intervals`);
  }
  for (const m of members) wheel.remove(m);
  const total = [...visits.values()].reduce((a, b) => a + b, 0);
  await sleep(200);
  t.equal([...visits.values()].reduce((a, b) => a + b, 0), total, 'an empty wheel visits nothing (its timer stopped)');
});

t.test('a visit that removes members of the same slot: none is visited twice, none removed is visited', async (t) => {
  const visits: string[] = [];
  const members = Array.from({ length: 6 }, (_, n) => member(`m${n}`));
  const wheel = new KeepaliveWheel<Member>(40, (m) => {
    visits.push(m.name);
    // m1's visit ends itself and m4 (a keepalive timeout ending connections): the slot's last members move.
    if (m.name === 'm1') {
      wheel.remove(m);
      wheel.remove(members[4]!);
    }
  });
  for (const m of members) wheel.add(m);
  for (let waited = 0; visits.length < 5 && waited < 5000; waited += 5) await sleep(5);
  for (const m of members) wheel.remove(m);
  t.same(visits.slice(0, 5), ['m0', 'm1', 'm2', 'm3', 'm5'], 'the first revolution: each once, in order, m4 skipped');
});
