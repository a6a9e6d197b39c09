"""Browser tests of the demo terminal (Web/) against the real stack, in headless Chromium.

    make test-browser        (or: .venv/bin/python -m unittest discover -s Tests/Browser -v)

One stack (nats-server, simulator, xy-realtime, xy-aggregator, xy-gateway, nginx as the edge)
serves every test;
the test classes run in name order, the gateway, NATS and aggregator restarts last.
"""
import os
import unittest

from stack import ROOT, SYMBOLS, Stack, snapshot_rows, wait_until
from browser import Tab, console_messages, start_browser

TICK_SUBJECT = "xy.md.tick.demo"
HEARTBEAT_MS = 500  # tab↔worker beat in these tests, so a hung tab is noticed in ~1.5 s
# Where the run's screenshot goes: .run-browser/ (ignored by git), so `make test` leaves the tree
# clean; XY_UPDATE_SCREENSHOT=1 writes the committed docs/demo-terminal.png instead.
SCREENSHOT = (os.path.join(ROOT, "docs", "demo-terminal.png") if os.environ.get("XY_UPDATE_SCREENSHOT") == "1"
              else os.path.join(ROOT, ".run-browser", "demo-terminal.png"))

stack = None
driver = None
failed = False  # any test failed: print every process's log at the end


def setUpModule():
    global stack, driver
    stack = Stack().start()
    try:
        driver = start_browser()
    except BaseException:
        stack.cleanup()
        raise
    # The first window stays on about:blank, so closing every demo tab leaves the session open.
    driver.get("about:blank")


def tearDownModule():
    global stack, driver
    try:
        if driver is not None:
            driver.quit()
    finally:
        if stack is not None:
            if failed or os.environ.get("XY_BROWSER_LOGS"):
                stack.dump_logs()
            stack.cleanup()


def page_url(*, symbol=None, shared_worker=True, token=None, origin=None):
    """The demo page from the gateway itself, or from `origin` (the edge)."""
    query = [f"heartbeat={HEARTBEAT_MS}"]
    if symbol:
        query.append(f"symbol={symbol}")
    if not shared_worker:
        query.append("sharedWorker=0")
    return f"{origin or stack.gateway_url}/?{'&'.join(query)}#token={token or stack.token}"


def nats_subjects(client_subjects):
    """The NATS subjects the gateway holds for these client subjects: a tick subject brings its
    group's periodic snapshot subject along (xy.md.tick.G → also xy.md.snapshot.G)."""
    held = []
    for subject in client_subjects:
        held.append(subject)
        if subject.startswith("xy.md.tick."):
            held.append("xy.md.snapshot." + subject[len("xy.md.tick."):])
    return sorted(held)


def subjects_held():
    health = stack.healthz()
    subjects = list(health.get("subjects", []))
    return subjects, health


def close_demo_tabs():
    """Closes every tab but the first (about:blank), whatever a failed test left open."""
    for handle in driver.window_handles[1:]:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(driver.window_handles[0])


class BrowserTestCase(unittest.TestCase):
    def setUp(self):
        self.addCleanup(close_demo_tabs)

    def run(self, result=None):
        global failed
        result = super().run(result)
        if result is not None and (result.failures or result.errors):
            failed = True
        return result

    def assertWatchlistMatches(self, tab, snapshot):
        """The tab shows exactly the aggregator's snapshot: same seq, every field of every symbol."""
        expected = snapshot_rows(snapshot)
        wait_until(lambda: tab.stats()["lastSeq"] == snapshot.seq, 10,
                   f"tab to reach seq {snapshot.seq}")
        # The page applies at its next frame (or hidden-tab timer); give it that long.
        wait_until(lambda: tab.stats()["watchlist"] == expected, 5, "the watchlist to show the snapshot")
        stats = tab.stats()
        self.assertEqual(stats["lastSeq"], snapshot.seq)
        self.assertEqual(stats["watchlist"], expected)
        self.assertEqual(stats["seqBreaks"], 0, "the page saw a batch that did not follow the one before")

    def assertMatchesPausedMarket(self, tabs):
        """Pauses the simulator and checks every tab against the aggregator's settled snapshot."""
        stack.pause_market()
        try:
            snapshot = stack.settled_snapshot()
            self.assertEqual(len(snapshot.ticks), len(SYMBOLS))
            for tab in tabs:
                self.assertWatchlistMatches(tab.focus(), snapshot)
                subject = tab.connection()["subjects"][TICK_SUBJECT]
                self.assertEqual(subject["lastSeq"], snapshot.seq)
                self.assertFalse(subject["awaitingSnapshot"])
        finally:
            stack.resume_market()

    def assertRecovers(self, tab, outage):
        """A live tab goes through `outage` (which breaks something and mends it): the badge ends
        live, a fresh snapshot arrives, prices move again and the state is the aggregator's."""
        tab.wait_live(SYMBOLS)
        tab.wait_prices_change()
        snapshots_before = tab.stats()["snapshots"]
        outage()
        wait_until(lambda: tab.badge() == "live", 30, "the badge to say live again")
        wait_until(lambda: tab.stats()["snapshots"] > snapshots_before, 15, "a fresh snapshot after the outage")
        self.assertEqual(tab.stats()["states"][-1]["state"], "live")
        tab.wait_prices_change(timeout=30)
        self.assertMatchesPausedMarket([tab])
        self.assertEqual(stack.metric("xy_ws_active_connections"), 1)

    def assertHeldOnce(self, client_subjects):
        """The gateway holds exactly one NATS subscription per subject these clients need."""
        expected = nats_subjects(client_subjects)
        subjects, health = subjects_held()
        self.assertEqual(sorted(subjects), sorted(expected), f"gateway /healthz: {health}")
        self.assertEqual(len(subjects), len(set(subjects)), "a subject held twice")
        if "subscriptions" in health:
            self.assertEqual(health["subscriptions"], len(expected), f"gateway /healthz: {health}")

    def waitHeld(self, client_subjects, what):
        wait_until(lambda: sorted(subjects_held()[0]) == nats_subjects(client_subjects), 10, what)
        self.assertHeldOnce(client_subjects)


class Test0Sequencer(BrowserTestCase):
    """The sequence rules (Web/xy-sequencer.js) as plain values, run by the browser's own engine."""

    @classmethod
    def setUpClass(cls):
        # Any page of the gateway's origin can import the modules; no token, so it stays idle.
        cls.tab = Tab(driver, f"{stack.gateway_url}/")

    @classmethod
    def tearDownClass(cls):
        close_demo_tabs()

    def setUp(self):
        self.tab.focus()  # one tab for the class; no per-test cleanup

    def test_rules(self):
        result = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            import('/xy-sequencer.js').then(({ TickSequencer }) => {
                const out = [];
                const t = (symbol, last, time) => ({ symbol, last, time });
                const s = new TickSequencer();
                out.push(s.batch({ seq: 1, firstSeq: 1, ticks: [t('A', 1, 1)] }).action);          // before a snapshot
                out.push(s.snapshot({ group: 'g', seq: 10, time: 5, ticks: [t('A', 1, 100), t('B', 2, 100)] }).action);
                out.push(s.batch({ seq: 10, firstSeq: 10, ticks: [t('A', 9, 200)] }).action);      // already applied
                out.push(s.batch({ seq: 11, firstSeq: 11, ticks: [t('A', 3, 200)] }).action);
                out.push(s.batch({ seq: 14, firstSeq: 11, ticks: [t('B', 4, 300)] }).action);      // conflated, overlapping
                const older = s.batch({ seq: 15, firstSeq: 15, ticks: [t('A', 7, 150), t('B', 5, 400)] });
                out.push(older.action, older.data.ticks.map((x) => x.symbol).join(','));          // A older than shown
                out.push(s.symbols.get('A').last, s.symbols.get('B').last, s.lastSeq);
                const gap = s.batch({ seq: 20, firstSeq: 17, ticks: [] });
                out.push(gap.action, gap.expected, gap.got, s.awaitingSnapshot);
                out.push(s.batch({ seq: 21, firstSeq: 21, ticks: [] }).action);                    // until the snapshot
                out.push(s.snapshot({ group: 'g', seq: 30, time: 6, ticks: [t('A', 8, 500)] }).action, s.symbols.size);
                out.push(s.batch({ seq: 31, firstSeq: 31, ticks: [] }).action);
                // The producer restarted on an empty stream: seq 1 again, under a new epoch.
                const epoch = '1764810000987654321';
                const restart = s.batch({ seq: 1, firstSeq: 1, epoch, ticks: [t('A', 9, 600)] });
                out.push(restart.action, restart.previous, s.awaitingSnapshot, s.symbols.size);
                out.push(s.batch({ seq: 2, firstSeq: 2, epoch, ticks: [] }).action);              // until its snapshot
                out.push(s.snapshot({ group: 'g', seq: 2, epoch, time: 7, ticks: [t('A', 9, 600)] }).action, s.lastSeq, s.epoch);
                out.push(s.snapshot({ group: 'g', seq: 1, epoch, time: 7, ticks: [] }).action);   // older, same epoch
                const lower = s.snapshot({ group: 'g', seq: 0, epoch: '5', time: 8, ticks: [t('A', 8, 500)] });
                out.push(lower.action, lower.newEpoch, s.lastSeq);                                 // lower seq, new epoch
                out.push(s.batch({ seq: 1, firstSeq: 1, epoch: '5', ticks: [] }).action);
                out.push(JSON.stringify(s.snapshotData()));
                done(out);
            }, (error) => done(['import failed', String(error)]));
        """)
        self.assertEqual(result, [
            "ignore", "replace", "ignore", "apply", "apply",
            "apply", "B",
            3, 5, 15,
            "gap", 16, 17, True,
            "ignore", "replace", 1, "apply",
            "newEpoch", "0", True, 0,
            "ignore",
            "replace", 2, "1764810000987654321",
            "ignore",
            "replace", True, 0,
            "apply",
            '{"group":"g","seq":1,"epoch":"5","time":8,"ticks":[{"symbol":"A","last":8,"time":500}]}',
        ])

    def test_token_choice(self):
        """Tabs share one connection: it keeps the token that expires last, never a garbled one."""
        result = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            import('/xy-connection.js').then(({ XYConnection, expiry }) => {
                const jwt = (exp) => 'h.' + btoa(JSON.stringify({ sub: 's', exp })).replace(/=+$/, '').replace(/\\+/g, '-').replace(/\\//g, '_') + '.sig';
                const connection = new XYConnection({ url: 'ws://127.0.0.1:9/ws', token: jwt(100) });
                const kept = [];
                for (const token of [jwt(50), 'garbled', '', jwt(200)]) {
                    connection.setToken(token);
                    kept.push(expiry(connection.token));
                }
                done([expiry(jwt(7)), expiry('garbled'), expiry(''), ...kept]);
            }, (error) => done(['import failed', String(error)]));
        """)
        self.assertEqual(result, [7, 0, -1, 100, 100, 100, 200])


class Test1SharedWorker(BrowserTestCase):
    """Three tabs, one WebSocket: reference-counted subscriptions, agreement with the aggregator."""

    def test_three_tabs_share_one_connection(self):
        tabs = [Tab(driver, page_url(symbol="AAPL")), Tab(driver, page_url(symbol="AAPL")), Tab(driver, page_url(symbol="MSFT"))]
        for tab in tabs:
            tab.wait_live(SYMBOLS)
            self.assertEqual(tab.stats()["mode"], "shared-worker")

        # One WebSocket for the browser, one NATS subscription per subject at the gateway.
        wait_until(lambda: stack.metric("xy_ws_active_connections") == 1, 10, "one WebSocket at the gateway")
        self.waitHeld([TICK_SUBJECT, "xy.md.bar.AAPL", "xy.md.bar.MSFT"], "the tick and both bar subjects")
        self.assertEqual(stack.metric("xy_ws_active_connections"), 1)
        worker = tabs[0].connection()
        wait_until(lambda: tabs[0].connection().get("worker", {}).get("tabs") == 3, 15, "the worker to count three tabs")
        self.assertEqual(tabs[0].connection()["connects"], 1, f"worker stats: {worker}")

        # Every tab shows prices moving.
        for tab in tabs:
            tab.focus()
            tab.wait_prices_change()
            self.assertGreater(tab.stats()["ticks"], 0)
            self.assertGreater(tab.stats()["frames"], 0)

        # A resync asked by one tab (what the connection does on a gap) gives every tab a fresh
        # snapshot through the gateway, on the same WebSocket.
        before = [tab.stats()["snapshots"] for tab in tabs]
        repairs = tabs[1].connection()["repairs"]
        tabs[1].script("window.xyClient.resync(arguments[0])", TICK_SUBJECT)
        for tab, count in zip(tabs, before):
            wait_until(lambda: tab.stats()["snapshots"] > count, 10, "a fresh snapshot in every tab after the resync")
        self.assertEqual(tabs[0].connection()["repairs"], repairs + 1)
        self.assertEqual(stack.metric("xy_ws_active_connections"), 1)

        # With the market paused, every tab shows exactly the aggregator's own snapshot.
        self.assertMatchesPausedMarket(tabs)

        tabs[0].focus()
        wait_until(lambda: tabs[0].stats()["candles"] >= 1, 10, "a candle on the chart")
        tabs[0].wait_prices_change()
        os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
        self.assertTrue(driver.save_screenshot(SCREENSHOT))

        # A hung tab (frozen: it answers no beat) is dropped by the worker, and what only it held goes.
        hung = Tab(driver, page_url(symbol="NVDA"))
        hung.wait_live(SYMBOLS)
        self.waitHeld([TICK_SUBJECT, "xy.md.bar.AAPL", "xy.md.bar.MSFT", "xy.md.bar.NVDA"], "the hung tab's bar subject")
        hung.freeze()
        tabs[0].focus()
        self.waitHeld([TICK_SUBJECT, "xy.md.bar.AAPL", "xy.md.bar.MSFT"], "the hung tab's subject to be released")
        wait_until(lambda: tabs[0].connection().get("worker", {}).get("tabsDropped", 0) >= 1, 5, "the worker to count a dropped tab")
        hung.close()

        # Closing two tabs keeps the third live and releases only what no tab needs.
        seq_before = tabs[0].stats()["lastSeq"]
        tabs[2].close()
        tabs[1].close()
        self.waitHeld([TICK_SUBJECT, "xy.md.bar.AAPL"], "MSFT's bar subject to be released")
        self.assertEqual(stack.metric("xy_ws_active_connections"), 1)
        survivor = tabs[0].focus()
        survivor.wait_prices_change()
        stats = survivor.stats()
        self.assertEqual(stats["state"], "live")
        self.assertGreater(stats["lastSeq"], seq_before)
        self.assertEqual(stats["seqBreaks"], 0)
        self.assertEqual(survivor.connection()["subjects"][TICK_SUBJECT]["clients"], 1)
        self.assertEqual(survivor.connection()["worker"]["tabs"], 1)

        # Closing the last releases the subscription at the gateway.
        survivor.close()
        self.waitHeld([], "every subject to be released")
        wait_until(lambda: stack.metric("xy_ws_active_connections") == 0, 10, "no WebSocket at the gateway")

        # The token went only into the subprotocol: not in the console, not in the gateway's log.
        self.assertFalse([line for line in console_messages(driver) if stack.token in line])
        self.assertNotIn(stack.token, stack.gateway.log())


class Test2Fallback(BrowserTestCase):
    """SharedWorker disabled: each tab connects on its own, and everything else still works."""

    def test_each_tab_its_own_connection(self):
        tabs = [Tab(driver, page_url(symbol="AAPL", shared_worker=False)), Tab(driver, page_url(symbol="AAPL", shared_worker=False))]
        for tab in tabs:
            tab.wait_live(SYMBOLS)
            self.assertEqual(tab.stats()["mode"], "direct")
        wait_until(lambda: stack.metric("xy_ws_active_connections") == 2, 10, "two WebSockets at the gateway")
        # Still one NATS subscription per subject: the gateway fans out.
        self.waitHeld([TICK_SUBJECT, "xy.md.bar.AAPL"], "the tick and bar subjects")
        for tab in tabs:
            tab.focus().wait_prices_change()

        self.assertMatchesPausedMarket(tabs)

        # A subject outside the grant comes back to its listener as an error, and nothing is held.
        error = tabs[0].focus().driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            " window.xyClient.subscribe('xy.exec.health', (message) => done(message));")
        self.assertEqual(error["type"], "error")
        self.assertEqual(error["data"]["code"], "XYW002")

        tabs[1].close()
        wait_until(lambda: stack.metric("xy_ws_active_connections") == 1, 10, "the closed tab's WebSocket to go")
        self.assertHeldOnce([TICK_SUBJECT, "xy.md.bar.AAPL"])
        tabs[0].focus().wait_prices_change()

        # Choosing another row charts it: its bar subject is taken, the old one released.
        tabs[0].script("document.querySelector('#rows tr[data-symbol=\"MSFT\"]').click()")
        self.waitHeld([TICK_SUBJECT, "xy.md.bar.MSFT"], "the chart to follow the chosen row")
        self.assertEqual(tabs[0].script("return document.getElementById('chart-title').textContent"), "MSFT · 1 min")
        wait_until(lambda: (tabs[0].stats()["chart"] or {}).get("symbol") == "MSFT", 10, "a MSFT candle")
        tabs[0].close()
        self.waitHeld([], "every subject to be released")
        wait_until(lambda: stack.metric("xy_ws_active_connections") == 0, 10, "no WebSocket at the gateway")

    def test_worker_that_fails(self):
        """A SharedWorker that cannot start (here: its script is missing) leaves the tab on its own
        connection through the same API."""
        tab = Tab(driver, f"{stack.gateway_url}/")  # no token: the page itself stays idle
        result = driver.execute_async_script("""
            const [url, token, subject, done] = arguments;
            import('/xy-client.js').then(async ({ XYClient }) => {
                const xy = await XYClient.connect({ url, token, workerURL: '/no-such-worker.js' });
                const sub = xy.subscribe(subject, (message) => {
                    if (message.type !== 'snapshot') return;
                    sub.close();
                    xy.close();
                    done({ mode: xy.mode, reason: xy.fallbackReason, symbols: message.data.ticks.length });
                });
            }, (error) => done({ error: String(error) }));
        """, stack.gateway_url.replace("http:", "ws:") + "/ws", stack.token, TICK_SUBJECT)
        self.assertEqual(result, {"mode": "direct", "reason": "worker error", "symbols": len(SYMBOLS)})
        tab.close()
        wait_until(lambda: stack.metric("xy_ws_active_connections") == 0, 10, "the client's WebSocket to close")


class Test3GatewayRestart(BrowserTestCase):
    """Gateway killed and started again: reconnecting, then live, and the state whole again."""

    def test_reconnects_and_repairs(self):
        def kill_and_restart():
            stack.gateway.kill()
            wait_until(lambda: tab.badge() == "reconnecting", 10, "the badge to say reconnecting")
            # Ticks keep flowing into the aggregator meanwhile; the tab must catch up through a snapshot.
            missed_after = stack.snapshot().seq
            wait_until(lambda: stack.snapshot().seq > missed_after + 10, 15, "batches the tab misses while the gateway is down")
            stack.restart_gateway()

        tab = Tab(driver, page_url(symbol="AAPL"))
        self.assertRecovers(tab, kill_and_restart)
        states = [entry["state"] for entry in tab.stats()["states"]]
        self.assertIn("reconnecting", states)
        self.assertGreaterEqual(tab.connection()["connects"], 2)


class Test4NatsRestart(BrowserTestCase):
    """The gateway loses NATS: the badge says degraded, then live with fresh snapshots, state whole."""

    def test_degraded_then_live(self):
        def stop_and_restart():
            stack.nats.stop()
            wait_until(lambda: tab.badge() == "degraded", 15, "the badge to say degraded")
            self.assertEqual(tab.stats()["stateCode"], "XYW004")
            stack.start_nats()

        tab = Tab(driver, page_url(symbol="AAPL"))
        self.assertRecovers(tab, stop_and_restart)
        self.assertEqual(tab.connection()["connects"], 1, "the WebSocket itself stayed up")

class Test5Unauthorized(BrowserTestCase):
    """A token the gateway refuses: the page keeps retrying and says unauthorized, not reconnecting."""

    def test_refused_token(self):
        foreign = stack.mint("other")
        tab = Tab(driver, page_url(symbol="AAPL", shared_worker=False, token=foreign))
        wait_until(lambda: tab.badge() == "unauthorized", 15, "the badge to say unauthorized")
        stats = tab.stats()
        self.assertEqual(stats["stateCode"], "XYW001")
        self.assertEqual(stats["snapshots"], 0)
        self.assertGreaterEqual(tab.connection()["failures"], 2)
        self.assertEqual(stack.metric("xy_ws_active_connections"), 0)
        self.assertNotIn(foreign, stack.gateway.log())


class Test5bEdge(BrowserTestCase):
    """The terminal at the edge's origin (nginx, make up's configuration): the page, its modules
    and the WebSocket (the page's default, ws://<its host>/ws) all through nginx; and a refused
    token still reads as unauthorized, because the edge routes /healthz, the page's probe, to the
    gateway rather than to the static files."""

    def test_live_through_the_edge(self):
        tab = Tab(driver, page_url(symbol="AAPL", shared_worker=False, origin=stack.edge_url))
        tab.wait_live(SYMBOLS)
        tab.wait_prices_change()
        self.assertEqual(tab.badge(), "live")
        # The edge buffers its access log (flushed every second): wait for the line.
        wait_until(lambda: '"GET /terminal.js HTTP/1.1" 200 ' in stack.edge_access_log(), 10, "the modules to come through the edge")
        # nginx logs a proxied WebSocket when it ends: close the tab (its own connection, no worker).
        tab.close()
        wait_until(lambda: '"GET /ws HTTP/1.1" 101 ' in stack.edge_access_log(), 10, "the edge to log the WebSocket it carried")

    def test_refused_token_through_the_edge(self):
        foreign = stack.mint("other")
        tab = Tab(driver, page_url(symbol="AAPL", shared_worker=False, token=foreign, origin=stack.edge_url))
        wait_until(lambda: tab.badge() == "unauthorized", 15, "the badge to say unauthorized")
        self.assertEqual(tab.stats()["stateCode"], "XYW001")
        wait_until(lambda: '"GET /healthz HTTP/1.1" 200 ' in stack.edge_access_log(), 10, "the probe to reach the gateway through the edge")


class Test6AggregatorStartsOver(BrowserTestCase):
    """xy-aggregator restarted on an emptied XY_TICKS: its seq starts over under a new epoch, and the
    terminal takes the new epoch's snapshot and keeps moving (before epochs it froze for hours)."""

    def test_new_epoch(self):
        tab = Tab(driver, page_url(symbol="AAPL"))
        tab.wait_live(SYMBOLS)
        tab.wait_prices_change()
        before = tab.connection()["subjects"][TICK_SUBJECT]
        old_epoch, old_seq = before["epoch"], before["lastSeq"]
        self.assertTrue(old_epoch and old_epoch != "0", f"the tab follows an epoch: {before}")
        snapshots_before = tab.stats()["snapshots"]
        epoch_changes_before = stack.metric("xy_ws_epoch_changes_total") or 0

        stack.restart_aggregator_on_empty_stream()
        wait_until(lambda: tab.connection()["subjects"][TICK_SUBJECT]["epoch"] not in (None, old_epoch), 20,
                   "the tab to follow the new epoch")
        wait_until(lambda: tab.stats()["snapshots"] > snapshots_before, 15, "the new epoch's snapshot on the page")
        tab.wait_prices_change(timeout=30)
        subject = tab.connection()["subjects"][TICK_SUBJECT]
        self.assertLess(subject["lastSeq"], old_seq, "the new run counts from 1 again")
        self.assertEqual(subject["newEpochs"], 1)
        self.assertEqual(stack.metric("xy_ws_epoch_changes_total"), epoch_changes_before + 1)
        self.assertEqual(tab.badge(), "live")
        self.assertMatchesPausedMarket([tab])


if __name__ == "__main__":
    unittest.main(verbosity=2)
