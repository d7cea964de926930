// What a node receives after hello-ok (spec §12, as 2026.9.6 sends it): voicewake.changed and
// voicewake.routing.changed (targeted, no seq), then a health broadcast with seq and stateVersion.
import t from 'tap';

import { ALL_OPERATOR_SCOPES, connectOk, startTestGateway, until } from '../helpers/gateway.js';

const backend = {
  role: 'operator' as const,
  clientId: 'gateway-client',
  mode: 'backend',
  identity: null,
  scopes: ALL_OPERATOR_SCOPES,
};

t.test(
  'a node gets the voice-wake configuration, then health; operators see health when the node set changes',
  async (t) => {
    const gw = await startTestGateway(t);
    const op = (await connectOk(gw, backend)).client;
    const node = await connectOk(gw, { role: 'node' });
    t.same(
      node.res.payload.features.events.filter((e: string) => e.startsWith('voicewake.')),
      ['voicewake.changed', 'voicewake.routing.changed'],
      'advertised in hello-ok',
    );
    const health = await node.client.event('health');
    const after = node.client.frames
      .concat([health])
      .filter((f) => ['voicewake.changed', 'voicewake.routing.changed', 'health'].includes(f.event));
    t.same(
      after.map((f) => f.event),
      ['voicewake.changed', 'voicewake.routing.changed', 'health'],
      'in the 2026.9.6 order',
    );
    t.same(
      after[0],
      { type: 'event', event: 'voicewake.changed', payload: { triggers: ['openclaw', 'claude', 'computer'] } },
      'targeted: no seq',
    );
    t.same(after[1], {
      type: 'event',
      event: 'voicewake.routing.changed',
      payload: { config: { version: 1, defaultTarget: { mode: 'current' }, routes: [], updatedAtMs: 0 } },
    });
    t.match(health, {
      payload: { ok: true, nodes: 1, ts: Number, uptimeMs: Number },
      seq: Number,
      stateVersion: { presence: Number, health: Number },
    });

    const opHealth = await op.event('health');
    t.equal(opHealth.seq, health.seq, 'one broadcast: the operator sees the same seq');
    t.ok(opHealth.stateVersion.health > node.res.payload.snapshot.stateVersion.health, 'health version bumped');
    t.equal(node.res.payload.snapshot.health.ok, true);

    const gone = op.event('health');
    node.client.close();
    const afterClose = await gone;
    t.match(afterClose, { payload: { nodes: 0 } }, 'health again when the node leaves');
    t.ok(afterClose.seq > opHealth.seq && afterClose.stateVersion.health > opHealth.stateVersion.health);
    t.match(
      await op.request('health', {}),
      { ok: true, payload: { ok: true, nodes: 0 } },
      'the health method answers the same shape',
    );

    const op2 = (await connectOk(gw, backend)).client;
    await until(() => gw.connectionCount() === 2);
    // Frames on one socket are ordered: a voice-wake event sent after hello-ok would precede this response.
    t.match(await op2.request('health', {}), { ok: true });
    t.notOk(
      op2.frames.some((f) => f.event?.startsWith('voicewake.')),
      'operators get no voice-wake events',
    );
  },
);
