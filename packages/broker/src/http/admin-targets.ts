import { HttpStatus, ProtocolCloseCode, ProtocolErrorCode } from '@switchboard/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { CommandResult, NodeCommand, RebalanceReport } from '../engine/engine.js';
import { BrokerError, BrokerErrorCode } from '../errors.js';
import type { AdminGuard } from './admin-users.js';
import { replyError } from './error-reply.js';
import type { HttpBroker } from './http-broker.js';
import { describeInvalid } from './invalid-request.js';

/**
 * Admin actions aimed at one node or one connection, wherever it is in the cluster: the node that takes the
 * request sends one command through the engine (engine/engine-commands.ts) and the node that has the target
 * acts and answers. Every answer carries `nodes: {expected, answered}` and `complete`, as the user routes'
 * (admin-users.ts): a target not found while some node did not answer is said to be so.
 *
 * - `POST /admin/rebalance` `{"fraction", "spreadMs"?, "node"?}`: closes that fraction of the connections of
 *   `node` (default: this node) with 4101 (`rebalance`, reconnect now), spread over `spreadMs` (default its
 *   `SHUTDOWN_SPREAD`) → 202 `{"closing", "connections", "node"}`, with `"nodes", "complete"` when `node` is
 *   given; 404 when no node of that name answered; 503 `unavailable` while that node shuts down.
 * - `POST /admin/connections/:id/disconnect` `{"reconnect"?: false}` → 200 `{"connectionId", "node",
 *   "closeCode", "nodes", "complete"}`: closed by its node with 4404 (`disconnected`, do not reconnect), or
 *   4103 (`reconnect`, at once); 404 when no node has it open.
 *
 * While the engine cannot carry commands, a target on this node is still acted on (`complete: false`,
 * `nodes: {expected: 0, answered: 0}`); any other answers 503 `unavailable`.
 */

const rebalanceBody = z
  .object({
    fraction: z.number().gt(0).lte(1),
    spreadMs: z.number().int().min(0).max(600_000).optional(),
    node: z.string().min(1).max(256).optional(),
  })
  .strict();
const disconnectBody = z.object({ reconnect: z.boolean().default(false) }).strict();
const idParams = z.object({ id: z.string().min(1).max(128) });

/** No node could be asked: the engine is down. */
const engineDown = Symbol('engine down');
const alone = { nodes: { expected: 0, answered: 0 }, complete: false } as const;

export function registerAdminTargetRoutes(app: FastifyInstance, broker: HttpBroker, refused: AdminGuard): void {
  const { nodeName } = broker.config;
  const ask = async (command: NodeCommand): Promise<CommandResult | typeof engineDown> => {
    try {
      return await broker.command(command);
    } catch (error) {
      if (error instanceof BrokerError && error.code === BrokerErrorCode.engineUnavailable) return engineDown;
      throw error;
    }
  };
  const engineUnavailable = (reply: FastifyReply, what: string): FastifyReply =>
    replyError(reply, ProtocolErrorCode.unavailable, `the engine is unavailable: ${what}`, { 'Retry-After': String(broker.config.httpRetryAfterSeconds) });
  const notFound = (reply: FastifyReply, what: string, result: CommandResult): FastifyReply => {
    const { expected, answered } = result.nodes;
    const reach = result.complete ? `on any of the ${answered} nodes` : `on the ${answered} of ${expected} nodes that answered in time`;
    return replyError(reply, ProtocolErrorCode.badRequest, `${what} ${reach}`, {}, HttpStatus.notFound);
  };
  const shuttingDown = (reply: FastifyReply, node: string): FastifyReply =>
    replyError(reply, ProtocolErrorCode.unavailable, `${node} is shutting down`, { 'Retry-After': String(broker.config.httpRetryAfterSeconds) });

  app.post('/admin/rebalance', async (request, reply) => {
    if (refused(request, reply)) return reply;
    const body = rebalanceBody.safeParse(request.body);
    if (!body.success) return replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(body.error, 'body'));
    const { fraction, spreadMs, node } = body.data;
    const here = (extra: object): FastifyReply => {
      if (broker.state !== 'running') return shuttingDown(reply, nodeName);
      const connections = broker.connectionCount;
      const closing = broker.rebalance(fraction, spreadMs);
      return reply.code(HttpStatus.accepted).send({ closing, connections, node: nodeName, ...extra });
    };
    if (node === undefined) return here({});
    const result = await ask({ op: 'rebalance', node, fraction, ...(spreadMs === undefined ? {} : { spreadMs }) });
    if (result === engineDown) return node === nodeName ? here(alone) : engineUnavailable(reply, `only ${nodeName} can be rebalanced from here`);
    const answer = result.connections.find((entry) => entry.node === node && entry.report !== undefined);
    if (answer === undefined) return notFound(reply, `no node named ${node}`, result);
    const report = answer.report as RebalanceReport;
    if (!report.running) return shuttingDown(reply, node);
    broker.logger.info({ target: node, closing: report.closing }, 'admin: node rebalanced');
    return reply.code(HttpStatus.accepted).send({ closing: report.closing, connections: report.connections, node, nodes: result.nodes, complete: result.complete });
  });

  app.post('/admin/connections/:id/disconnect', async (request, reply) => {
    if (refused(request, reply)) return reply;
    const params = idParams.safeParse(request.params);
    if (!params.success) return replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(params.error, 'id'));
    const body = disconnectBody.safeParse(request.body ?? {});
    if (!body.success) return replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(body.error, 'body'));
    const connectionId = params.data.id;
    const { reconnect } = body.data;
    const closeCode = reconnect ? ProtocolCloseCode.reconnect : ProtocolCloseCode.disconnected;
    const result = await ask({ op: 'disconnect-connection', connectionId, reconnect });
    if (result === engineDown) {
      const local = broker.session(connectionId);
      if (local === undefined || !local.isOpen) return engineUnavailable(reply, `${connectionId} is not on ${nodeName}, and no other node can be asked`);
      local.close(closeCode, reconnect ? 'reconnect requested' : 'disconnected');
      return reply.send({ connectionId, node: nodeName, closeCode, ...alone });
    }
    const closed = result.connections.find((entry) => entry.connectionId === connectionId);
    if (closed === undefined) return notFound(reply, `no open connection ${connectionId}`, result);
    return reply.send({ connectionId, node: closed.node, closeCode, nodes: result.nodes, complete: result.complete });
  });
}
