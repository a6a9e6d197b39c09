// Web/xy-sequencer.js under `node --test` (make test): the shared vectors of
// Tests/Fixtures/sequence-rules.json, which MarketData's SequenceTracker runs too, and the
// TickSequencer's actions around them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importWebModules, repository } from './web-modules.mjs';

const [{ SequenceTracker, TickSequencer }, { XYConnection }] = await importWebModules('xy-sequencer.js', 'xy-connection.js');

const fixture = JSON.parse(readFileSync(join(repository, 'Tests', 'Fixtures', 'sequence-rules.json'), 'utf8'));

test('every case of Tests/Fixtures/sequence-rules.json', () => {
    assert.ok(fixture.cases.length >= 8);
    for (const testCase of fixture.cases) {
        const tracker = new SequenceTracker();
        testCase.steps.forEach((step, index) => {
            const at = `${testCase.name}, step ${index + 1}`;
            let result;
            if (step.batch) result = tracker.batch(step.batch.epoch, step.batch.seq, step.batch.firstSeq ?? 0);
            else if (step.snapshot) result = tracker.snapshot(step.snapshot.epoch, step.snapshot.seq);
            else {
                assert.ok(step.expectSnapshot, `${at}: a step is a batch, a snapshot or expectSnapshot`);
                tracker.expectSnapshot();
            }
            if (result) {
                assert.equal(result.outcome, step.outcome, at);
                assert.deepEqual(result.missing, step.missing, `${at}: missing`);
                assert.equal(result.previous, step.previous, `${at}: previous epoch`);
            }
            assert.deepEqual(
                { epoch: tracker.epoch ?? '', lastSeq: tracker.lastSeq, awaitingSnapshot: tracker.awaitingSnapshot },
                step.after, `${at}: state after`);
        });
    }
});

test('a restarted producer: the old state is dropped and the new epoch snapshot is the base', () => {
    const s = new TickSequencer();
    const tick = (symbol, last, time) => ({ symbol, last, time });
    assert.equal(s.snapshot({ group: 'g', seq: 5000, epoch: '100', time: 1, ticks: [tick('A', 1, 10), tick('B', 2, 10)] }).action, 'replace');
    assert.equal(s.batch({ seq: 5001, firstSeq: 5001, epoch: '100', ticks: [tick('A', 3, 20)] }).action, 'apply');
    const restart = s.batch({ seq: 1, firstSeq: 1, epoch: '200', ticks: [tick('A', 4, 5)] });
    assert.deepEqual(restart, { action: 'newEpoch', previous: '100' });
    assert.equal(s.symbols.size, 0);
    assert.equal(s.batch({ seq: 2, firstSeq: 2, epoch: '200', ticks: [] }).action, 'ignore');
    const base = s.snapshot({ group: 'g', seq: 2, epoch: '200', time: 2, ticks: [tick('A', 4, 5)] });
    assert.equal(base.action, 'replace');
    assert.equal(base.newEpoch, false, 'the batch already reported the new epoch');
    const applied = s.batch({ seq: 3, firstSeq: 3, epoch: '200', ticks: [tick('A', 5, 6)] });
    assert.equal(applied.action, 'apply');
    assert.equal(s.symbols.get('A').last, 5, 'a tick older than the old run\'s is applied: the old state is gone');
    assert.equal(s.counters.newEpochs, 1);
});

/** A WebSocket the connection can drive, recording what it sends. */
class FakeSocket {
    static last = null;
    constructor() {
        this.readyState = 1;
        this.sent = [];
        FakeSocket.last = this;
    }
    send(text) { this.sent.push(JSON.parse(text)); }
    close() { this.readyState = 3; }
}

test('XYConnection: a new epoch on a batch waits for the gateway\'s snapshot, then delivers it and the ticks after it', () => {
    const connection = new XYConnection({ url: 'ws://127.0.0.1:9/ws', token: 't', WebSocket: FakeSocket, snapshotTimeout: 60000 });
    const posted = [];
    connection.attach('tab', (message) => posted.push(message));
    const socket = FakeSocket.last;
    socket.onopen();
    connection.subscribe('tab', 'xy.md.tick.demo');
    const envelope = (type, data) => JSON.stringify({ type, subject: 'xy.md.tick.demo', seq: data.seq, epoch: data.epoch, ts: '', source: 'gw', data });
    socket.onmessage({ data: envelope('snapshot', { group: 'demo', seq: 40, epoch: '100', time: 1, ticks: [] }) });
    socket.onmessage({ data: envelope('tick', { group: 'demo', seq: 41, epoch: '100', firstSeq: 41, ticks: [] }) });
    const sentBefore = socket.sent.length;
    socket.onmessage({ data: envelope('tick', { group: 'demo', seq: 1, epoch: '200', firstSeq: 1, ticks: [] }) });
    assert.equal(socket.sent.length, sentBefore, 'no resubscribe: the gateway sends the new base by itself');
    assert.equal(connection.stats().subjects['xy.md.tick.demo'].awaitingSnapshot, true);
    socket.onmessage({ data: envelope('snapshot', { group: 'demo', seq: 1, epoch: '200', time: 2, ticks: [] }) });
    socket.onmessage({ data: envelope('tick', { group: 'demo', seq: 2, epoch: '200', firstSeq: 2, ticks: [] }) });
    const delivered = posted.filter((m) => m.kind === 'message').map((m) => `${m.message.type}:${m.message.data.epoch}:${m.message.data.seq}`);
    assert.deepEqual(delivered, ['snapshot:100:40', 'tick:100:41', 'snapshot:200:1', 'tick:200:2']);
    const stats = connection.stats().subjects['xy.md.tick.demo'];
    assert.equal(stats.epoch, '200');
    assert.equal(stats.newEpochs, 1);
    assert.equal(stats.lastSeq, 2);
    connection.close();
});

test('XYConnection: a snapshot of a new epoch with a lower seq replaces the state; an older one of the same epoch is not delivered', () => {
    const connection = new XYConnection({ url: 'ws://127.0.0.1:9/ws', token: 't', WebSocket: FakeSocket, snapshotTimeout: 60000 });
    const posted = [];
    connection.attach('tab', (message) => posted.push(message));
    const socket = FakeSocket.last;
    socket.onopen();
    connection.subscribe('tab', 'xy.md.tick.demo');
    const envelope = (type, data) => JSON.stringify({ type, subject: 'xy.md.tick.demo', seq: data.seq, epoch: data.epoch, ts: '', source: 'gw', data });
    socket.onmessage({ data: envelope('snapshot', { group: 'demo', seq: 40, epoch: '100', time: 1, ticks: [] }) });
    socket.onmessage({ data: envelope('snapshot', { group: 'demo', seq: 39, epoch: '100', time: 1, ticks: [] }) });
    socket.onmessage({ data: envelope('snapshot', { group: 'demo', seq: 0, epoch: '200', time: 2, ticks: [] }) });
    const delivered = posted.filter((m) => m.kind === 'message').map((m) => `${m.message.data.epoch}:${m.message.data.seq}`);
    assert.deepEqual(delivered, ['100:40', '200:0']);
    connection.close();
});

test('XYConnection: a subject whose producer is silent shows the connection stale (XYW008) until it is live again', () => {
    const connection = new XYConnection({ url: 'ws://127.0.0.1:9/ws', token: 't', WebSocket: FakeSocket, snapshotTimeout: 60000 });
    const states = [];
    connection.attach('tab', (message) => { if (message.kind === 'state') states.push(`${message.state}${message.code ? ':' + message.code : ''}`); });
    const socket = FakeSocket.last;
    socket.onopen();
    connection.subscribe('tab', 'xy.md.tick.demo');
    connection.subscribe('tab', 'xy.md.tick.tech');
    const status = (subject, state, code) => JSON.stringify({ type: 'status', subject, seq: 0, epoch: '0', ts: '', source: 'gw', data: { state, code } });
    socket.onmessage({ data: status('xy.md.tick.demo', 'stale', 'XYW008') });
    socket.onmessage({ data: status('xy.md.tick.tech', 'stale', 'XYW008') });
    socket.onmessage({ data: status('xy.md.tick.demo', 'live') });
    assert.equal(connection.state, 'stale', 'one subject is still stale');
    socket.onmessage({ data: status('xy.md.tick.tech', 'live') });
    assert.equal(connection.state, 'live');
    assert.deepEqual(states.slice(-2), ['stale:XYW008', 'live']);
    connection.close();
});

test('XYConnection: a session the gateway ends at token expiry (4001) waits for a newer token, then reconnects with it', () => {
    const jwt = (exp) => `e30.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.sig`;
    const connection = new XYConnection({ url: 'ws://127.0.0.1:9/ws', token: jwt(1000), WebSocket: FakeSocket, snapshotTimeout: 60000 });
    const states = [];
    connection.attach('tab', (message) => { if (message.kind === 'state') states.push(`${message.state}${message.code ? ':' + message.code : ''}`); });
    const first = FakeSocket.last;
    first.onopen();
    first.onclose({ code: 4001 });
    assert.equal(connection.state, 'unauthorized');
    assert.equal(states.at(-1), 'unauthorized:XYW005');
    assert.equal(connection.retryTimer, null, 'no retry with the expired token');
    connection.setToken(jwt(2000));
    assert.notEqual(FakeSocket.last, first, 'a new socket with the renewed token');
    connection.close();
});

test('XYConnection: after the gateway says live again (NATS back), its fresh snapshot is the base even at the same seq', () => {
    const connection = new XYConnection({ url: 'ws://127.0.0.1:9/ws', token: 't', WebSocket: FakeSocket, snapshotTimeout: 60000 });
    const posted = [];
    connection.attach('tab', (message) => posted.push(message));
    const socket = FakeSocket.last;
    socket.onopen();
    connection.subscribe('tab', 'xy.md.tick.demo');
    const envelope = (type, data, subject = 'xy.md.tick.demo') => JSON.stringify({ type, subject, seq: data.seq ?? 0, epoch: data.epoch ?? '0', ts: '', source: 'gw', data });
    socket.onmessage({ data: envelope('snapshot', { group: 'demo', seq: 40, epoch: '100', time: 1, ticks: [] }) });
    socket.onmessage({ data: envelope('status', { state: 'degraded', code: 'XYW004' }, '') });
    socket.onmessage({ data: envelope('status', { state: 'live' }, '') });
    socket.onmessage({ data: envelope('snapshot', { group: 'demo', seq: 40, epoch: '100', time: 2, ticks: [] }) });
    const snapshots = posted.filter((m) => m.kind === 'message' && m.message.type === 'snapshot');
    assert.equal(snapshots.length, 2, 'the fresh snapshot after the outage reaches the page');
    connection.close();
});
