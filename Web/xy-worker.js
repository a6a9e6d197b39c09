// The SharedWorker behind xy-client.js: one WebSocket per gateway URL for every tab of the
// origin. Tabs talk to it over their MessagePort:
//
//   tab → worker  {op: 'hello', tab, url, token, heartbeatInterval?}   first message
//                 {op: 'subscribe' | 'unsubscribe' | 'resync', subject}
//                 {op: 'beat'}          answer to the worker's beat
//                 {op: 'token', token}  a newer token
//                 {op: 'stats', ref}    → {kind: 'stats', ref, stats}
//                 {op: 'bye'}           the tab goes away (pagehide)
//   worker → tab  {kind: 'ready', worker}                                  answer to hello
//                 {kind: 'beat'}        every heartbeat interval
//                 {kind: 'dropped'}     to a tab it had given up on that speaks again: hello again
//                 {kind: 'state' | 'message', …}                           from XYConnection
//
// A MessagePort has no close event, so a tab that closes without `bye` (crash, kill, a frozen
// page) is noticed by the beat: a tab that answers none of MISSED_BEATS beats in a row is
// detached and its subscriptions released. If it wakes up later it is told so and rejoins.
import { XYConnection } from './xy-connection.js';

const DEFAULT_HEARTBEAT = 5000;
const MIN_HEARTBEAT = 250;
const MAX_HEARTBEAT = 60000;
const MISSED_BEATS = 3;

/** url → XYConnection */
const connections = new Map();
/** tab id → {port, connection, lastSeen} */
const tabs = new Map();
const started = Date.now();
let heartbeat = DEFAULT_HEARTBEAT;
let beatTimer = null;
let tabsSeen = 0;
let tabsDropped = 0;

self.onconnect = (event) => {
    const port = event.ports[0];
    let tabId = null;
    port.onmessage = (message) => {
        const request = message.data || {};
        if (request.op === 'hello') {
            tabId = hello(port, request);
            return;
        }
        const tab = tabId && tabs.get(tabId);
        if (!tab) {
            // A tab this worker dropped (it was frozen or hung) is back: it must introduce itself again.
            if (request.op !== 'bye') port.postMessage({ kind: 'dropped' });
            return;
        }
        tab.lastSeen = Date.now();
        switch (request.op) {
        case 'subscribe':
            tab.connection.subscribe(tabId, String(request.subject));
            break;
        case 'unsubscribe':
            tab.connection.unsubscribe(tabId, String(request.subject));
            break;
        case 'resync':
            tab.connection.resync(String(request.subject));
            break;
        case 'token':
            tab.connection.setToken(request.token);
            break;
        case 'stats':
            port.postMessage({ kind: 'stats', ref: request.ref, stats: stats(tab.connection) });
            break;
        case 'bye':
            drop(tabId, false);
            tabId = null;
            break;
        case 'beat':
        default:
            break;
        }
    };
    port.start();
};

function hello(port, request) {
    const tabId = String(request.tab);
    if (tabs.has(tabId)) drop(tabId, false);
    let connection = connections.get(request.url);
    if (!connection) {
        connection = new XYConnection({ ...request.settings, url: request.url, token: request.token });
        connections.set(request.url, connection);
    } else {
        connection.setToken(request.token);
    }
    const wanted = Number(request.heartbeatInterval);
    if (wanted > 0) setHeartbeat(Math.max(MIN_HEARTBEAT, Math.min(MAX_HEARTBEAT, Math.min(heartbeat, wanted))));
    tabs.set(tabId, { port, connection, lastSeen: Date.now() });
    tabsSeen += 1;
    port.postMessage({ kind: 'ready', worker: { started, heartbeatInterval: heartbeat } });
    connection.attach(tabId, (message) => port.postMessage(message));
    if (!beatTimer) setHeartbeat(heartbeat);
    return tabId;
}

function drop(tabId, silent) {
    const tab = tabs.get(tabId);
    if (!tab) return;
    tabs.delete(tabId);
    if (silent) tabsDropped += 1;
    tab.connection.detach(tabId);
}

function setHeartbeat(interval) {
    heartbeat = interval;
    clearInterval(beatTimer);
    beatTimer = setInterval(beat, heartbeat);
}

function beat() {
    const now = Date.now();
    for (const [tabId, tab] of Array.from(tabs)) {
        if (now - tab.lastSeen > heartbeat * MISSED_BEATS) {
            drop(tabId, true);
        } else {
            tab.port.postMessage({ kind: 'beat' });
        }
    }
}

function stats(connection) {
    return {
        ...connection.stats(),
        worker: { tabs: tabs.size, tabsSeen, tabsDropped, heartbeatInterval: heartbeat, connections: connections.size, started },
    };
}
