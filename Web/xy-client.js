// xy browser client.
//
//   import { XYClient } from './xy-client.js';
//   const xy = await XYClient.connect({ url: 'wss://host/ws', token });
//   xy.addEventListener('state', (e) => badge(e.detail.state));   // live | degraded | reconnecting | …
//   const sub = xy.subscribe('xy.md.tick.demo', (message) => { … });  // snapshot first, then ticks
//   sub.close();
//
// With a SharedWorker (xy-worker.js) every tab of the origin shares one WebSocket; without one
// (or with `sharedWorker: false`, or when the worker does not answer) the tab opens its own
// through the same code (xy-connection.js). Either way messages for a tick subject arrive as a
// `snapshot` (the whole group) followed by `tick` batches in seq order with no gap: the
// connection resubscribes by itself when it sees one.
import { XYConnection, DEFAULTS } from './xy-connection.js';

// A worker that fails to load reports an error at once; this bound is for one that never answers
// (a machine under heavy load can take seconds to start it).
const WORKER_READY_TIMEOUT = 6000;
const STATS_TIMEOUT = 3000;
const DEFAULT_HEARTBEAT = 5000;

export class XYClient extends EventTarget {
    /**
     * @param {object} options
     * @param {string} options.url            the gateway's WebSocket URL (ws://host:port/ws)
     * @param {string} options.token          JWT; sent only as a WebSocket subprotocol
     * @param {boolean} [options.sharedWorker=true]  false: this tab opens its own connection
     * @param {number} [options.heartbeatInterval=5000]  ms between tab↔worker beats
     * @param {string|URL} [options.workerURL]  where xy-worker.js is (beside this file by default)
     * Any of xy-connection.js's DEFAULTS (backoffInitial, backoffMax, pingInterval, …) may be given.
     */
    static async connect(options) {
        if (!options || !options.url) throw new TypeError('XYClient.connect: url is required');
        const client = new XYClient(options);
        await client.start();
        return client;
    }

    constructor(options) {
        super();
        this.options = { ...options };
        this.tabId = randomId();
        this.state = 'connecting';
        this.stateCode = undefined;
        this.mode = 'none';
        this.fallbackReason = undefined;
        /** subject → Set of listeners */
        this.listeners = new Map();
        this.transport = null;
        this.closed = false;
        this.statsRequests = new Map();
        this.nextRef = 1;
        /** Between pagehide and a pageshow from the back/forward cache: the tab must not rejoin. */
        this.leaving = false;
        this.onPageHide = () => {
            this.leaving = true;
            this.transport?.send({ op: 'bye' });
        };
        this.onPageShow = (event) => {
            // Back from the back/forward cache: the worker forgot this tab at pagehide.
            if (!event.persisted || !this.leaving) return;
            this.leaving = false;
            this.transport?.rejoin();
        };
        // A frozen tab answers no heartbeat, so the worker may have dropped it meanwhile.
        this.onResume = () => {
            if (!this.leaving) this.transport?.resumed();
        };
    }

    async start() {
        const wantWorker = this.options.sharedWorker !== false && typeof SharedWorker === 'function';
        if (wantWorker) {
            try {
                this.transport = await WorkerTransport.open(this);
                this.mode = 'shared-worker';
            } catch (error) {
                this.fallbackReason = String(error && error.message || error);
            }
        } else {
            this.fallbackReason = this.options.sharedWorker === false ? 'disabled' : 'unsupported';
        }
        if (!this.transport) {
            this.transport = new DirectTransport(this);
            this.mode = 'direct';
        }
        addEventListener('pagehide', this.onPageHide);
        addEventListener('pageshow', this.onPageShow);
        document.addEventListener('resume', this.onResume);
    }

    /**
     * Calls `onMessage(envelope)` for every message of `subject`: for a tick subject a `snapshot`
     * (also after every reconnect or repaired gap), then `tick` batches; bars as `bar`; refusals
     * as `error`. Returns {subject, close()}.
     */
    subscribe(subject, onMessage) {
        if (this.closed) throw new Error('XYClient is closed');
        let set = this.listeners.get(subject);
        if (!set) {
            set = new Set();
            this.listeners.set(subject, set);
        }
        const listener = { onMessage };
        set.add(listener);
        // The first listener of the tab subscribes; a later one asks for the state again, which
        // arrives as a snapshot (the listeners already there just see their state replaced).
        this.transport.send({ op: 'subscribe', subject });
        return {
            subject,
            close: () => {
                if (!set.delete(listener)) return;
                if (set.size === 0 && this.listeners.get(subject) === set) {
                    this.listeners.delete(subject);
                    this.transport?.send({ op: 'unsubscribe', subject });
                }
            },
        };
    }

    /**
     * Starts a tick subject afresh: the connection unsubscribes and subscribes, and every listener
     * (in every tab) gets a new snapshot. What the connection does by itself on a gap.
     */
    resync(subject) {
        this.transport?.send({ op: 'resync', subject });
    }

    /** A newer token (e.g. refreshed before expiry); used from the next connection attempt. */
    setToken(token) {
        this.options.token = token;
        this.transport?.send({ op: 'token', token });
    }

    /** The connection's counters and sequence state (from the worker when there is one). */
    stats() {
        if (!this.transport) return Promise.resolve(null);
        return this.transport.stats().then((stats) => ({ mode: this.mode, fallbackReason: this.fallbackReason, ...stats }));
    }

    close() {
        if (this.closed) return;
        this.closed = true;
        removeEventListener('pagehide', this.onPageHide);
        removeEventListener('pageshow', this.onPageShow);
        document.removeEventListener('resume', this.onResume);
        this.transport?.shutdown();
        this.transport = null;
        this.listeners.clear();
        this.setState('closed');
    }

    // Called by the transports.

    received(message) {
        if (message.kind === 'state') {
            this.setState(message.state, message.code);
        } else if (message.kind === 'message') {
            const set = this.listeners.get(message.subject);
            if (set) {
                for (const listener of Array.from(set)) {
                    try {
                        listener.onMessage(message.message);
                    } catch (error) {
                        reportError(error);
                    }
                }
            } else if (message.message?.type === 'error') {
                this.dispatchEvent(new CustomEvent('error', { detail: message.message.data }));
            }
        } else if (message.kind === 'stats') {
            this.statsRequests.get(message.ref)?.(message.stats);
            this.statsRequests.delete(message.ref);
        }
    }

    setState(state, code) {
        if (state === this.state && code === this.stateCode) return;
        this.state = state;
        this.stateCode = code;
        this.dispatchEvent(new CustomEvent('state', { detail: { state, code } }));
    }

    /** The worker stopped answering: carry on with a connection of this tab's own. */
    workerFailed(reason) {
        if (this.closed || this.mode !== 'shared-worker') return;
        this.transport.shutdown();
        this.fallbackReason = reason;
        this.transport = new DirectTransport(this);
        this.mode = 'direct';
        for (const subject of this.listeners.keys()) this.transport.send({ op: 'subscribe', subject });
        this.dispatchEvent(new CustomEvent('mode', { detail: { mode: this.mode, reason } }));
    }

    connectionSettings() {
        const settings = {};
        for (const key of Object.keys(DEFAULTS)) {
            if (typeof this.options[key] === 'number') settings[key] = this.options[key];
        }
        return settings;
    }
}

/** The tab's end of the SharedWorker. */
class WorkerTransport {
    static open(client) {
        return new Promise((resolve, reject) => {
            const transport = new WorkerTransport(client, resolve, reject);
            transport.hello();
        });
    }

    constructor(client, resolve, reject) {
        this.client = client;
        this.heartbeatInterval = client.options.heartbeatInterval || DEFAULT_HEARTBEAT;
        const url = client.options.workerURL || new URL('./xy-worker.js', import.meta.url);
        // Throws where module workers are not supported; the caller falls back.
        this.worker = new SharedWorker(url, { type: 'module', name: 'xy' });
        this.port = this.worker.port;
        this.lastBeat = Date.now();
        this.ready = false;
        const fail = (reason) => {
            if (this.ready) {
                client.workerFailed(reason);
            } else {
                clearTimeout(this.readyTimer);
                this.shutdown();
                reject(new Error(reason));
            }
        };
        this.worker.onerror = () => fail('worker error');
        this.port.onmessageerror = () => fail('worker message error');
        this.port.onmessage = (event) => {
            const message = event.data || {};
            this.lastBeat = Date.now();
            if (message.kind === 'ready') {
                if (!this.ready) {
                    this.ready = true;
                    clearTimeout(this.readyTimer);
                    this.heartbeatInterval = message.worker.heartbeatInterval || this.heartbeatInterval;
                    this.watchdog = setInterval(() => {
                        // Timers of hidden tabs are throttled, so allow a wide margin.
                        if (Date.now() - this.lastBeat > Math.max(20000, this.heartbeatInterval * 6)) fail('worker silent');
                    }, Math.max(1000, this.heartbeatInterval));
                    resolve(this);
                }
                return;
            }
            if (message.kind === 'beat') {
                this.port.postMessage({ op: 'beat' });
                return;
            }
            if (message.kind === 'dropped') {
                // Dropped while frozen: rejoin, unless the page is on its way out (a closed tab
                // can still run a task or two after pagehide).
                if (!client.leaving) this.rejoin();
                return;
            }
            client.received(message);
        };
        this.port.start();
        this.readyTimer = setTimeout(() => fail('worker did not answer'), WORKER_READY_TIMEOUT);
    }

    hello() {
        const options = this.client.options;
        this.port.postMessage({
            op: 'hello',
            tab: this.client.tabId,
            url: options.url,
            token: options.token,
            heartbeatInterval: options.heartbeatInterval,
            settings: this.client.connectionSettings(),
        });
    }

    /** After the back/forward cache or a drop: introduce the tab again and ask for its subjects. */
    rejoin() {
        this.lastBeat = Date.now();
        this.hello();
        for (const subject of this.client.listeners.keys()) this.send({ op: 'subscribe', subject });
    }

    /** Unfrozen: the worker's beats stopped reaching us meanwhile, so don't count that silence. */
    resumed() {
        this.lastBeat = Date.now();
        this.send({ op: 'beat' });
    }

    send(request) {
        this.port.postMessage(request);
    }

    stats() {
        const ref = this.client.nextRef++;
        return new Promise((resolve) => {
            // A worker that does not answer must not leave the caller waiting for ever.
            const timer = setTimeout(() => {
                this.client.statsRequests.delete(ref);
                resolve({ error: 'the worker did not answer', workerSilentMs: Date.now() - this.lastBeat });
            }, STATS_TIMEOUT);
            this.client.statsRequests.set(ref, (stats) => {
                clearTimeout(timer);
                resolve({ ...stats, workerSilentMs: Date.now() - this.lastBeat });
            });
            this.send({ op: 'stats', ref });
        });
    }

    shutdown() {
        clearInterval(this.watchdog);
        try {
            this.port.postMessage({ op: 'bye' });
        } catch {
            // the port is gone already
        }
        this.port.onmessage = null;
        this.port.close();
    }
}

/** The tab's own connection: the same XYConnection, with the tab as its only client. */
class DirectTransport {
    constructor(client) {
        this.client = client;
        this.connection = new XYConnection({
            ...client.connectionSettings(),
            url: client.options.url,
            token: client.options.token,
        });
        this.connection.attach(client.tabId, (message) => client.received(message));
    }

    rejoin() {
        this.connection.attach(this.client.tabId, (message) => this.client.received(message));
        for (const subject of this.client.listeners.keys()) this.send({ op: 'subscribe', subject });
    }

    resumed() {}

    send(request) {
        switch (request.op) {
        case 'subscribe':
            this.connection.subscribe(this.client.tabId, request.subject);
            break;
        case 'unsubscribe':
            this.connection.unsubscribe(this.client.tabId, request.subject);
            break;
        case 'resync':
            this.connection.resync(request.subject);
            break;
        case 'token':
            this.connection.setToken(request.token);
            break;
        case 'bye':
            this.connection.detach(this.client.tabId);
            break;
        default:
            break;
        }
    }

    stats() {
        return Promise.resolve(this.connection.stats());
    }

    shutdown() {
        this.connection.close();
    }
}

function randomId() {
    if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
