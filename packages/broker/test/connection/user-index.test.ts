import t from 'tap';
import { UserIndex } from '../../src/connection/user-index.js';

interface FakeSession {
  readonly user: string | undefined;
  readonly id: number;
}

t.test('sessions by user: added and removed one by one, anonymous ones never indexed, empty users forgotten', async (t) => {
  const index = new UserIndex<FakeSession>();
  const phone = { user: 'alice', id: 1 };
  const laptop = { user: 'alice', id: 2 };
  const bob = { user: 'bob', id: 3 };
  const anonymous = { user: undefined, id: 4 };
  for (const session of [phone, laptop, bob, anonymous]) index.add(session);
  t.same(index.of('alice'), [phone, laptop], 'in the order they opened');
  t.same(index.of('bob'), [bob]);
  t.same(index.of('carol'), []);
  t.equal(index.size, 2, 'anonymous connections are not indexed');
  const listed = index.of('alice');
  index.delete(phone);
  t.same(listed, [phone, laptop], 'a listing is a copy: closing while iterating is safe');
  t.same(index.of('alice'), [laptop]);
  index.delete(laptop);
  index.delete(laptop);
  index.delete(anonymous);
  t.equal(index.size, 1, "a user's last connection gone: the user is forgotten");
});
