import t from 'tap';
import { CloseCodeRange, ProtocolCloseCode, type ReconnectAdvice, StandardCloseCode, reconnectAdvice } from '../src/index.js';

t.test('every broker close code lies in the range of its advice (protocol.md §11)', async (t) => {
  const expected: Record<keyof typeof ProtocolCloseCode, [code: number, advice: ReconnectAdvice]> = {
    internalError: [4000, 'backoff'],
    slowConsumer: [4001, 'backoff'],
    rateLimited: [4002, 'backoff'],
    unavailable: [4003, 'backoff'],
    pingTimeout: [4004, 'backoff'],
    tokenNotYetValid: [4005, 'backoff'],
    shutdown: [4100, 'now'],
    rebalance: [4101, 'now'],
    tokenExpired: [4102, 'now'],
    reconnect: [4103, 'now'],
    protocolViolation: [4400, 'never'],
    unauthorized: [4401, 'never'],
    forbidden: [4403, 'never'],
    disconnected: [4404, 'never'],
    invalidIssuer: [4410, 'never'],
    invalidAudience: [4411, 'never'],
  };
  t.same(Object.keys(ProtocolCloseCode).sort(), Object.keys(expected).sort(), 'the table is exactly the documented one');
  for (const [name, [code, advice]] of Object.entries(expected)) {
    t.equal(ProtocolCloseCode[name as keyof typeof ProtocolCloseCode], code, `${name} is ${code}`);
    t.equal(reconnectAdvice(code), advice, `${code} (${name}): ${advice}`);
    const range = CloseCodeRange[advice];
    t.ok(code >= range.first && code <= range.last, `${code} is inside ${range.first}-${range.last}`);
  }
});

t.test('advice is derived from the range, so codes added later need no table', async (t) => {
  const cases: [code: number, advice: ReconnectAdvice][] = [
    [4000, 'backoff'],
    [4099, 'backoff'],
    [4100, 'now'],
    [4150, 'now'],
    [4199, 'now'],
    [4200, 'backoff'],
    [4399, 'backoff'],
    [4400, 'never'],
    [4450, 'never'],
    [4499, 'never'],
    [4500, 'backoff'],
    [4999, 'backoff'],
    [3000, 'backoff'],
    [0, 'backoff'],
  ];
  for (const [code, advice] of cases) t.equal(reconnectAdvice(code), advice, `${code}: ${advice}`);
});

t.test('standard codes (RFC 6455 §7.4.1)', async (t) => {
  const cases: [code: number, advice: ReconnectAdvice][] = [
    [StandardCloseCode.normal, 'backoff'],
    [StandardCloseCode.goingAway, 'now'],
    [StandardCloseCode.protocolError, 'never'],
    [StandardCloseCode.unsupportedData, 'never'],
    [StandardCloseCode.noStatus, 'backoff'],
    [StandardCloseCode.abnormal, 'backoff'],
    [StandardCloseCode.invalidPayload, 'never'],
    [StandardCloseCode.policyViolation, 'never'],
    [StandardCloseCode.messageTooBig, 'never'],
    [StandardCloseCode.mandatoryExtension, 'never'],
    [StandardCloseCode.internalError, 'backoff'],
    [StandardCloseCode.serviceRestart, 'now'],
    [StandardCloseCode.tryAgainLater, 'backoff'],
    [StandardCloseCode.badGateway, 'backoff'],
    [StandardCloseCode.tlsHandshake, 'never'],
    [1004, 'backoff'],
    [1016, 'backoff'],
  ];
  for (const [code, advice] of cases) t.equal(reconnectAdvice(code), advice, `${code}: ${advice}`);
});
