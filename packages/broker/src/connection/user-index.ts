/**
 * A node's open connections by user (protocol.md §14): what admin commands by user act on, so that
 * disconnecting or listing one user costs its own connections, not a scan of the node's. Kept by the
 * broker as sessions open and close; anonymous connections are not indexed.
 */
export class UserIndex<S extends { readonly user: string | undefined }> {
  private readonly byUser = new Map<string, Set<S>>();

  /** Users with at least one connection here. */
  get size(): number {
    return this.byUser.size;
  }

  add(session: S): void {
    const { user } = session;
    if (user === undefined) return;
    let sessions = this.byUser.get(user);
    if (sessions === undefined) this.byUser.set(user, (sessions = new Set()));
    sessions.add(session);
  }

  delete(session: S): void {
    const { user } = session;
    if (user === undefined) return;
    const sessions = this.byUser.get(user);
    if (sessions?.delete(session) === true && sessions.size === 0) this.byUser.delete(user);
  }

  /** The user's connections on this node, in the order they opened (a copy: callers may close them). */
  of(user: string): S[] {
    return [...(this.byUser.get(user) ?? [])];
  }
}
