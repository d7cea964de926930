// Which operator connections wait for which node invokes. An invoke nobody waits for any more (its
// requester closed the connection: Ctrl-C on `openclaw-ipc run`, a crashed agent) is cancelled, and the
// node is told to stop it. Callers that share an invoke through an idempotency key all count: it is
// cancelled only when the last of them is gone.

export class InvokeRequesters {
  private readonly byInvoke = new Map<string, Set<string>>();
  private readonly byConn = new Map<string, Set<string>>();

  /** Records that connection `connId` waits for invoke `invokeId`. */
  add(invokeId: string, connId: string): void {
    let conns = this.byInvoke.get(invokeId);
    if (!conns) this.byInvoke.set(invokeId, (conns = new Set()));
    conns.add(connId);
    let invokes = this.byConn.get(connId);
    if (!invokes) this.byConn.set(connId, (invokes = new Set()));
    invokes.add(invokeId);
  }

  /** The invoke settled: nobody needs to be tracked for it. */
  done(invokeId: string): void {
    for (const connId of this.byInvoke.get(invokeId) ?? []) {
      const invokes = this.byConn.get(connId);
      invokes?.delete(invokeId);
      if (invokes?.size === 0) this.byConn.delete(connId);
    }
    this.byInvoke.delete(invokeId);
  }

  /** The connection closed: the invokes it was the last requester of. */
  dropConnection(connId: string): string[] {
    const orphaned: string[] = [];
    for (const invokeId of this.byConn.get(connId) ?? []) {
      const conns = this.byInvoke.get(invokeId);
      conns?.delete(connId);
      if (!conns || conns.size === 0) {
        this.byInvoke.delete(invokeId);
        orphaned.push(invokeId);
      }
    }
    this.byConn.delete(connId);
    return orphaned;
  }

  get size(): number {
    return this.byInvoke.size;
  }
}
