import type { PresenceMember } from '../engine/engine.js';

/**
 * A topic's members as protocol.md §13.2's `data`: `{"users":{[user]:{[connection]:info}},"anonymous":{[connection]:info}}`
 * (`info` `null` when the connection has none). Written as text around each member's stored info JSON, which
 * is spliced in rather than parsed again: a listing may be 10,000 members.
 */
export function presenceDataJson(members: readonly PresenceMember[]): string {
  const users = new Map<string, string[]>();
  const anonymous: string[] = [];
  for (const member of members) {
    const entry = `${JSON.stringify(member.connectionId)}:${member.info ?? 'null'}`;
    if (member.user === undefined) {
      anonymous.push(entry);
      continue;
    }
    let connections = users.get(member.user);
    if (connections === undefined) users.set(member.user, (connections = []));
    connections.push(entry);
  }
  const userEntries = [...users].map(([user, connections]) => `${JSON.stringify(user)}:{${connections.join(',')}}`);
  return `{"users":{${userEntries.join(',')}},"anonymous":{${anonymous.join(',')}}}`;
}
