import Foundation
import JameyTestKit
import Testing

@testable import JameyKernel

/// Host functions exercised from real C plugins: bus conversions both ways, handler errors,
/// metrics registration guards, the service registry, config accessors and environment.
@Suite struct ABITests {
    let log: String
    init() throws { log = try TemporaryDirectory.make() + "/events.log" }

    /// Recorded lines without the trailing plugin name the probe appends.
    func events() -> [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map {
            $0.split(separator: " ").dropLast().joined(separator: " ")
        }
    }

    func probe(_ name: String, _ configure: (inout CPluginSource) -> Void) throws -> TestKernel.Plugin {
        var s = CPluginSource(name: name)
        s.eventLog = log
        configure(&s)
        return .init(name, path: try TestPlugins.buildC(name: name, source: s.render()))
    }

    static let handlers = """
        static int32_t failing_handler(void *u, const jamey_message *m) { (void)u; (void)m; return JAMEY_E_PLUGIN; }
        static int32_t silent_handler(void *u, const jamey_message *m) { (void)u; (void)m; return JAMEY_OK; }
        static int32_t echo_handler(void *u, const jamey_message *m) {
            probe_state *s = u;
            jamey_message r = {0};
            r.struct_size = sizeof r;
            r.payload = m->payload; r.payload_len = m->payload_len;
            r.content_type = m->content_type; r.headers = m->headers; r.header_count = m->header_count;
            return api->reply(s->host, m, &r);
        }
        static void note(const char *what, int rc) { char b[96]; snprintf(b, sizeof b, "%s=%d", what, rc); record(b); }
        """

    @Test func messagesCrossTheABIBothWaysIntact() throws {
        let k = try TestKernel.boot(
            plugins: [
                try probe("echo") {
                    $0.extraCode = Self.handlers
                    $0.startCode = """
                        api->subscribe(s->host, "probe.echo.>", NULL, echo_handler, s, &s->sub);
                        jamey_kv h[] = {{"trace", "abc"}, {"kind", "greeting"}};
                        jamey_message m = {0};
                        m.struct_size = sizeof m; m.topic = "probe.hello"; m.payload = "hi"; m.payload_len = 2;
                        m.content_type = "text/plain"; m.headers = h; m.header_count = 2;
                        note("publish", api->publish(s->host, &m));
                        """
                }
            ], start: false)
        defer { k.shutdown() }
        let received = LockedBox<[BusMessage]>([])
        _ = try k.bus.subscribe("probe.hello") { m in
            received.append(m); return true
        }
        try k.kernel.start()
        #expect(TestKernel.eventually { received.value.count == 1 })
        let m = try #require(received.value.first)
        #expect(m.topic == "probe.hello")
        #expect(m.payload == Array("hi".utf8))
        #expect(m.contentType == "text/plain")
        #expect(m.source == "echo")
        #expect(m.headers.map { "\($0.key)=\($0.value)" } == ["trace=abc", "kind=greeting"])
        #expect(events().contains("publish=0"))

        let reply = try k.bus.requestSync(
            BusMessage(
                topic: "probe.echo.x", payload: [0, 1, 2, 255], contentType: "application/x-test",
                headers: [BusHeader(key: "k", value: "v")]),
            timeout: .seconds(30))
        #expect(reply.payload == [0, 1, 2, 255])
        #expect(reply.contentType == "application/x-test")
        #expect(reply.headers.map { "\($0.key)=\($0.value)" } == ["k=v"])
    }

    /// A length of 2^63 or more (a failed read()'s (size_t)-1 passed on) is refused, not read:
    /// size_t arrives in Swift as Int, negative, and passed every "at most" check, so the
    /// compact paths of publish and request took 4 GiB from a two-byte buffer.
    @Test func aPayloadLengthPastIntMaxIsRefused() throws {
        let k = try TestKernel.boot(
            plugins: [
                try probe("huge") {
                    $0.extraCode =
                        Self.handlers + """
                            static void on_done(void *u, int32_t status, const jamey_message *r) { (void)u; (void)r; note("done", status); }
                            """
                    $0.startCode = """
                        api->subscribe(s->host, "probe.huge.ask", NULL, silent_handler, s, &s->sub);
                        jamey_message m = {0};
                        m.struct_size = sizeof m; m.topic = "probe.huge.event"; m.payload = "hi"; m.payload_len = (size_t)-1;
                        note("publish_refused", api->publish(s->host, &m) == JAMEY_E_INVALID);
                        m.payload_len = (size_t)1 << 63;
                        note("publish63_refused", api->publish(s->host, &m) == JAMEY_E_INVALID);
                        m.topic = "probe.huge.ask";
                        note("request_refused", api->request(s->host, &m, 1000, on_done, s) == JAMEY_E_INVALID);
                        jamey_kv h[] = {{"a", "b"}};
                        m.headers = h; m.header_count = (size_t)-1; m.payload_len = 2;
                        note("headers_refused", api->publish(s->host, &m) == JAMEY_E_INVALID);
                        """
                }
            ], start: false)
        defer { k.shutdown() }
        let received = LockedBox<[BusMessage]>([])
        _ = try k.bus.subscribe("probe.huge.>") { m in
            received.append(m); return true
        }
        try k.kernel.start()
        let expected = ["publish_refused=1", "publish63_refused=1", "request_refused=1", "headers_refused=1"]
        #expect(TestKernel.eventually { Set(expected).isSubset(of: Set(events())) }, "\(events())")
        #expect(received.value.isEmpty)
        #expect(k.kernel.plugin(named: "huge")?.state == .started)
    }

    /// A C responder returning an error without replying answers the request at once, whichever
    /// way it is delivered (lane, compact ring, direct call): the caller waited out its timeout.
    /// A C requester's `done` gets JAMEY_E_PLUGIN.
    @Test func aCResponderThatFailsAnswersItsRequestsAtOnce() throws {
        let k = try TestKernel.boot(plugins: [
            try probe("grumpy") {
                $0.extraCode =
                    Self.handlers + """
                        static void on_done(void *u, int32_t status, const jamey_message *r) { (void)u; (void)r; note("done", status); }
                        static void on_lane_done(void *u, int32_t status, const jamey_message *r) { (void)u; (void)r; note("lane_done", status); }
                        /* A timeout's done runs on the bus timer thread; a request_sync from there to a
                           failing responder waited for good for a failure queued for that thread. */
                        static void on_timeout(void *u, int32_t status, const jamey_message *r) {
                            probe_state *s = u; (void)r;
                            note("timed_out", status);
                            jamey_message q = {0};
                            q.struct_size = sizeof q; q.topic = "probe.fail.lane";
                            note("sync_from_timer", api->request_sync(s->host, &q, 60000, NULL, NULL));
                        }
                        """
                $0.startCode = """
                    jamey_subscribe_options lane = { sizeof lane, 0, JAMEY_OVERFLOW_DROP_NEWEST, JAMEY_SUBSCRIBE_RESPONDER };
                    jamey_subscribe_options ring = { sizeof ring, 0, JAMEY_OVERFLOW_DROP_OLDEST, JAMEY_SUBSCRIBE_RESPONDER };
                    jamey_subscribe_options direct = { sizeof direct, 0, 0, JAMEY_SUBSCRIBE_RESPONDER | JAMEY_SUBSCRIBE_DIRECT };
                    api->subscribe(s->host, "probe.fail.lane", &lane, failing_handler, s, &s->sub);
                    api->subscribe(s->host, "probe.fail.ring", &ring, failing_handler, s, &s->sub);
                    api->subscribe(s->host, "probe.fail.direct", &direct, failing_handler, s, &s->sub);
                    api->subscribe(s->host, "probe.ask", NULL, echo_handler, s, &s->sub);
                    api->subscribe(s->host, "probe.silent", NULL, silent_handler, s, &s->sub);
                    jamey_message m = {0};
                    m.struct_size = sizeof m; m.topic = "probe.fail.ring";
                    note("request", api->request(s->host, &m, 600000, on_done, s));
                    m.topic = "probe.fail.lane";
                    note("lane_request", api->request(s->host, &m, 600000, on_lane_done, s));
                    m.topic = "probe.silent";
                    note("silent_request", api->request_v2(s->host, &m, 50, JAMEY_REQUEST_DONE_ANY_THREAD, on_timeout, s));
                    """
            }
        ])
        defer { k.shutdown() }
        for topic in ["probe.fail.lane", "probe.fail.ring", "probe.fail.direct"] {
            // Far beyond the test's own time: that an answer comes at all is the point.
            #expect(throws: BusError.handlerFailed, "\(topic)") {
                try k.bus.requestSync(BusMessage(topic: topic), timeout: .seconds(600))
            }
        }
        #expect(try k.bus.requestSync(BusMessage(topic: "probe.ask", payload: [1]), timeout: .seconds(60)).payload == [1])
        #expect(events().contains("request=0"))
        #expect(TestKernel.eventually { events().contains("done=\(JAMEY_E_PLUGIN_VALUE)") }, "\(events())")
        // A plain C request the lane takes as a request record.
        #expect(TestKernel.eventually { events().contains("lane_done=\(JAMEY_E_PLUGIN_VALUE)") }, "\(events())")
        #expect(TestKernel.eventually { events().contains("sync_from_timer=\(JAMEY_E_PLUGIN_VALUE)") }, "\(events())")
        #expect(events().contains("timed_out=\(JAMEY_E_TIMEOUT_VALUE)"))
    }

    @Test func handlerErrorsAreCounted() throws {
        let k = try TestKernel.boot(plugins: [
            try probe("grumpy") {
                $0.extraCode = Self.handlers
                $0.startCode = "api->subscribe(s->host, \"probe.fail\", NULL, failing_handler, s, &s->sub);"
            }
        ])
        defer { k.shutdown() }
        for _ in 0..<3 { try k.bus.publish(BusMessage(topic: "probe.fail")) }
        #expect(
            TestKernel.eventually {
                k.kernel.metrics.exposition().contains(#"jamey_bus_handler_errors_total{plugin="grumpy"} 3"#)
            })
        let text = k.kernel.metrics.exposition()
        #expect(text.contains(#"jamey_bus_messages_in_total{plugin="grumpy"} 3"#))
        // Each invocation is timed, in the kernel's lock-free histogram (FastHistograms).
        #expect(text.contains(#"jamey_bus_handler_duration_seconds_count{plugin="grumpy"} 3"#))
        #expect(text.contains(#"jamey_bus_handler_duration_seconds_bucket{plugin="grumpy",le="+Inf"} 3"#))
        #expect(text.components(separatedBy: "# TYPE jamey_bus_handler_duration_seconds histogram").count == 2)
    }

    @Test func requestFromCAndTimeoutsMapToCodes() throws {
        let k = try TestKernel.boot(plugins: [
            try probe("asker") {
                $0.extraCode = Self.handlers
                $0.startCode = """
                    jamey_message q = {0};
                    q.struct_size = sizeof q; q.topic = "nobody.home";
                    note("no_responders", api->request_sync(s->host, &q, 200, NULL, NULL));
                    api->subscribe(s->host, "probe.silent", NULL, silent_handler, s, &s->sub);
                    q.topic = "probe.silent";
                    note("timeout", api->request_sync(s->host, &q, 50, NULL, NULL));
                    q.topic = "bad..topic";
                    note("invalid", api->publish(s->host, &q));
                    note("unsub_unknown", api->unsubscribe(s->host, 987654));
                    """
            }
        ])
        defer { k.shutdown() }
        #expect(events().contains("no_responders=\(JAMEY_E_NO_RESPONDERS_VALUE)"))
        #expect(events().contains("timeout=\(JAMEY_E_TIMEOUT_VALUE)"))
        #expect(events().contains("invalid=\(JAMEY_E_INVALID_VALUE)"))
        #expect(events().contains("unsub_unknown=\(JAMEY_E_NOT_FOUND_VALUE)"))
    }

    @Test func requestV2WithADirectResponderCompletesInsideTheCall() throws {
        let k = try TestKernel.boot(plugins: [
            try probe("direct") {
                $0.extraCode =
                    Self.handlers + """
                        static int completed = 0;
                        static void done(void *u, int32_t status, const jamey_message *r) {
                            (void)u;
                            if (status == JAMEY_OK && r != NULL && r->payload_len == 2 && memcmp(r->payload, "hi", 2) == 0) completed = 1;
                        }
                        """
                $0.startCode = """
                    jamey_subscribe_options o = {0};
                    o.struct_size = sizeof o; o.flags = JAMEY_SUBSCRIBE_RESPONDER | JAMEY_SUBSCRIBE_DIRECT;
                    note("subscribe", api->subscribe(s->host, "probe.direct", &o, echo_handler, s, &s->sub));
                    o.flags = 0x80;
                    uint64_t ignored = 0;
                    note("bad_flags", api->subscribe(s->host, "probe.other", &o, echo_handler, s, &ignored));
                    note("has_v2", JAMEY_HOST_HAS(api, request_v2));
                    jamey_message q = {0};
                    q.struct_size = sizeof q; q.topic = "probe.direct"; q.payload = "hi"; q.payload_len = 2;
                    note("request_v2", api->request_v2(s->host, &q, 0, JAMEY_REQUEST_DONE_ANY_THREAD, done, NULL));
                    note("completed_inside", completed);
                    note("bad_request_flags", api->request_v2(s->host, &q, 0, 0x40, done, NULL));
                    """
            }
        ])
        defer { k.shutdown() }
        #expect(events().contains("subscribe=0"))
        #expect(events().contains("bad_flags=\(JAMEY_E_INVALID_VALUE)"))
        #expect(events().contains("has_v2=1"))
        #expect(events().contains("request_v2=0"))
        #expect(
            events().contains("completed_inside=1"),
            "the direct responder's reply completed the request before request_v2 returned")
        #expect(events().contains("bad_request_flags=\(JAMEY_E_INVALID_VALUE)"))
    }

    /// plugin.h: without `JAMEY_REQUEST_DONE_ANY_THREAD`, `done` runs on a bus worker or timer
    /// thread, never inside the `request` call. A bus handler's request to a direct responder
    /// that replied at once ran `done` on the handler's thread inside the call (a handler holding
    /// a lock its `done` takes deadlocked itself).
    @Test func aPlainRequestsDoneNeverRunsInsideTheCallEvenFromAHandler() throws {
        let k = try TestKernel.boot(plugins: [
            try probe("inner") {
                $0.extraCode =
                    Self.handlers + """
                        static __thread int inside = 0;
                        static void done(void *u, int32_t status, const jamey_message *r) {
                            (void)u; (void)r;
                            note("done_status", status);
                            note("done_inside", inside);
                        }
                        static int32_t go(void *u, const jamey_message *m) {
                            probe_state *s = u; (void)m;
                            jamey_message q = {0};
                            q.struct_size = sizeof q; q.topic = "probe.inner.direct"; q.payload = "hi"; q.payload_len = 2;
                            inside = 1;
                            note("request", api->request(s->host, &q, 0, done, NULL));
                            inside = 0;
                            return JAMEY_OK;
                        }
                        """
                $0.startCode = """
                    jamey_subscribe_options o = {0};
                    o.struct_size = sizeof o; o.flags = JAMEY_SUBSCRIBE_RESPONDER | JAMEY_SUBSCRIBE_DIRECT;
                    api->subscribe(s->host, "probe.inner.direct", &o, echo_handler, s, &s->sub);
                    uint64_t id;
                    api->subscribe(s->host, "probe.inner.go", NULL, go, s, &id);
                    """
            }
        ])
        defer { k.shutdown() }
        try k.bus.publish(BusMessage(topic: "probe.inner.go"))
        // done may run on a worker before the handler notes what request returned: wait for both.
        #expect(
            TestKernel.eventually(timeout: .seconds(10)) {
                events().contains("request=0") && (events().contains("done_inside=0") || events().contains("done_inside=1"))
            }, "\(events())")
        #expect(events().contains("done_status=0"))
        #expect(events().contains("done_inside=0"), "done ran inside the request call: \(events())")
    }

    /// A C requester's reply from a C responder is handed over as the responder laid it out (no
    /// message object in between): every field must still arrive as the requester expects.
    @Test func replyFromACResponderOnAWorkerReachesACRequesterIntact() async throws {
        let k = try TestKernel.boot(plugins: [
            try probe("asker") {
                $0.extraCode =
                    Self.handlers + """
                        static void done(void *u, int32_t status, const jamey_message *r) {
                            (void)u;
                            int ok = status == JAMEY_OK && r != NULL && r->struct_size >= sizeof *r
                                && r->payload_len == 2 && memcmp(r->payload, "hi", 2) == 0
                                && r->content_type != NULL && strcmp(r->content_type, "text/x") == 0
                                && r->header_count == 1 && strcmp(r->headers[0].key, "k") == 0 && strcmp(r->headers[0].value, "v") == 0
                                && r->source != NULL && strcmp(r->source, "asker") == 0
                                && r->topic != NULL && strcmp(r->topic, "_reply") == 0
                                && r->reply_to == NULL && r->correlation_id != 0;
                            note("reply_intact", ok);
                        }
                        """
                $0.startCode = """
                    jamey_subscribe_options o = {0};
                    o.struct_size = sizeof o; o.flags = JAMEY_SUBSCRIBE_RESPONDER;
                    note("subscribe", api->subscribe(s->host, "probe.queued", &o, echo_handler, s, &s->sub));
                    static jamey_kv kv[1] = {{"k", "v"}};
                    jamey_message q = {0};
                    q.struct_size = sizeof q; q.topic = "probe.queued"; q.payload = "hi"; q.payload_len = 2;
                    q.content_type = "text/x"; q.headers = kv; q.header_count = 1;
                    note("request_v2", api->request_v2(s->host, &q, 5000, JAMEY_REQUEST_DONE_ANY_THREAD, done, NULL));
                    """
            }
        ])
        defer { k.shutdown() }
        #expect(events().contains("request_v2=0"))
        #expect(await eventually { events().contains { $0.hasPrefix("reply_intact=") } })
        #expect(events().contains("reply_intact=1"))
    }

    /// A plain C request (no content type, no headers) goes into the responder's lane as C bytes:
    /// the responder must still see every field of a request, and its reply reach the requester.
    @Test func plainRequestFromCReachesACResponderAsARequest() async throws {
        let k = try TestKernel.boot(plugins: [
            try probe("plain") {
                $0.extraCode =
                    Self.handlers + """
                        static int32_t checking_echo(void *u, const jamey_message *m) {
                            int ok = m->payload_len == 3 && memcmp(m->payload, "abc", 3) == 0
                                && strcmp(m->topic, "probe.plain") == 0 && strcmp(m->source, "plain") == 0
                                && m->reply_to != NULL && m->correlation_id != 0
                                && m->content_type == NULL && m->header_count == 0;
                            note("request_intact", ok);
                            return echo_handler(u, m);
                        }
                        static void done(void *u, int32_t status, const jamey_message *r) {
                            (void)u;
                            note("reply", status == JAMEY_OK && r != NULL && r->payload_len == 3 && memcmp(r->payload, "abc", 3) == 0);
                        }
                        """
                $0.startCode = """
                    jamey_subscribe_options o = {0};
                    o.struct_size = sizeof o; o.flags = JAMEY_SUBSCRIBE_RESPONDER;
                    note("subscribe", api->subscribe(s->host, "probe.plain", &o, checking_echo, s, &s->sub));
                    jamey_message q = {0};
                    q.struct_size = sizeof q; q.topic = "probe.plain"; q.payload = "abc"; q.payload_len = 3;
                    note("request_v2", api->request_v2(s->host, &q, 5000, JAMEY_REQUEST_DONE_ANY_THREAD, done, NULL));
                    """
            }
        ])
        defer { k.shutdown() }
        #expect(events().contains("request_v2=0"))
        #expect(await eventually { events().contains { $0.hasPrefix("reply=") } })
        #expect(events().contains("request_intact=1"))
        #expect(events().contains("reply=1"))
    }

    @Test func metricRegistrationIsGuarded() throws {
        let k = try TestKernel.boot(plugins: [
            try probe("meter") {
                $0.extraCode = Self.handlers
                $0.startCode = """
                    jamey_kv labels[] = {{"queue", "main"}};
                    jamey_metric_desc d = {0};
                    d.struct_size = sizeof d; d.kind = JAMEY_METRIC_COUNTER; d.name = "probe_jobs_total"; d.help = "Jobs";
                    d.labels = labels; d.label_count = 1;
                    jamey_metric_id c = 0, g = 0, h = 0, again = 0, bad = 0;
                    note("counter", api->metric_register(s->host, &d, &c));
                    note("same_again", api->metric_register(s->host, &d, &again));
                    note("same_id", again == c);
                    /* Another help text (a deploy of a build that words it otherwise, or has none)
                       is the same family: the first text is kept. */
                    d.help = "Jobs, said otherwise";
                    note("other_help", api->metric_register(s->host, &d, &again));
                    note("other_help_same_id", again == c);
                    d.help = "Jobs";
                    note("add", api->metric_record(s->host, c, JAMEY_METRIC_ADD, 5));
                    note("negative_add", api->metric_record(s->host, c, JAMEY_METRIC_ADD, -1));
                    note("set_counter", api->metric_record(s->host, c, JAMEY_METRIC_SET, 1));
                    d.kind = JAMEY_METRIC_GAUGE;
                    note("kind_clash", api->metric_register(s->host, &d, &bad));
                    d.name = "probe_depth"; d.help = "Depth";
                    note("gauge", api->metric_register(s->host, &d, &g));
                    api->metric_record(s->host, g, JAMEY_METRIC_SET, 7);
                    api->metric_record(s->host, g, JAMEY_METRIC_ADD, -2);
                    double buckets[] = {0.1, 1, 10};
                    d.kind = JAMEY_METRIC_HISTOGRAM; d.name = "probe_latency_seconds"; d.help = "Latency";
                    d.buckets = buckets; d.bucket_count = 3;
                    note("histogram", api->metric_register(s->host, &d, &h));
                    api->metric_record(s->host, h, JAMEY_METRIC_OBSERVE, 0.5);
                    d.name = "jamey_sneaky"; d.kind = JAMEY_METRIC_COUNTER; d.buckets = NULL; d.bucket_count = 0;
                    note("reserved", api->metric_register(s->host, &d, &bad));
                    d.name = "1bad-name";
                    note("bad_name", api->metric_register(s->host, &d, &bad));
                    note("unknown_id", api->metric_record(s->host, 99999, JAMEY_METRIC_ADD, 1));
                    """
            }
        ])
        defer { k.shutdown() }
        let e = events()
        for ok in [
            "counter=0", "same_again=0", "same_id=1", "other_help=0", "other_help_same_id=1", "add=0", "gauge=0",
            "histogram=0",
        ] {
            #expect(e.contains(ok), "\(ok)")
        }
        for bad in ["negative_add", "set_counter", "kind_clash", "reserved", "bad_name"] {
            #expect(e.contains("\(bad)=\(JAMEY_E_INVALID_VALUE)"), "\(bad)")
        }
        #expect(e.contains("unknown_id=\(JAMEY_E_NOT_FOUND_VALUE)"))
        let text = k.kernel.metrics.exposition()
        #expect(text.contains(#"probe_jobs_total{plugin="meter",queue="main"} 5"#))
        #expect(text.contains(#"probe_depth{plugin="meter",queue="main"} 5"#))
        #expect(text.contains(#"probe_latency_seconds_bucket{plugin="meter",queue="main",le="1.0"} 1"#))
        #expect(text.contains("# HELP probe_jobs_total Jobs\n"))
        #expect(!text.contains("said otherwise"))
    }

    @Test func serviceRegistryFromC() throws {
        let k = try TestKernel.boot(plugins: [
            try probe("provider") { $0.provides = [("calc", "1.4.2")] },
            try probe("consumer") {
                $0.requires = [("calc", "^1.2")]
                $0.extraCode = Self.handlers
                $0.startCode = """
                    const void *t = NULL; size_t n = 0;
                    note("lookup", api->service_lookup(s->host, "calc", "^1.2", &t, &n));
                    note("size", (int)n);
                    note("wrong_version", api->service_lookup(s->host, "calc", "^2", &t, &n));
                    note("missing", api->service_lookup(s->host, "nope", NULL, &t, &n));
                    note("bad_range", api->service_lookup(s->host, "calc", "~~", &t, &n));
                    note("dup", api->service_register(s->host, "calc", "9.0.0", &t, 8));
                    note("foreign_unregister", api->service_unregister(s->host, "calc"));
                    """
            },
        ])
        defer { k.shutdown() }
        let e = events()
        #expect(e.contains("lookup=0"))
        #expect(e.contains("size=16"))
        #expect(e.contains("wrong_version=\(JAMEY_E_VERSION_VALUE)"))
        #expect(e.contains("missing=\(JAMEY_E_NOT_FOUND_VALUE)"))
        #expect(e.contains("bad_range=\(JAMEY_E_INVALID_VALUE)"))
        #expect(e.contains("dup=\(JAMEY_E_EXISTS_VALUE)"))
        #expect(e.contains("foreign_unregister=\(JAMEY_E_NOT_FOUND_VALUE)"))
        #expect(k.kernel.services.service(named: "calc")?.owner == "provider")
        k.shutdown()
        #expect(k.kernel.services.service(named: "calc") == nil, "services are withdrawn when their plugin stops")
    }

    @Test func environmentAndConfigAccessors() throws {
        let k = try TestKernel.boot(
            plugins: [
                try probe("envy") {
                    $0.configFields = [
                        #"{sizeof(jamey_config_field), JAMEY_CONFIG_STRING, "mode", 0, 0, "fast", 0, 0, NULL, NULL, NULL, 0}"#,
                        #"{sizeof(jamey_config_field), JAMEY_CONFIG_INT, "workers", JAMEY_CONFIG_HAS_MIN, 0, "2", 1, 0, NULL, NULL, NULL, 0}"#,
                        #"{sizeof(jamey_config_field), JAMEY_CONFIG_BOOL, "verbose", 0, 0, "false", 0, 0, NULL, NULL, NULL, 0}"#,
                        #"{sizeof(jamey_config_field), JAMEY_CONFIG_DOUBLE, "ratio", 0, 0, NULL, 0, 0, NULL, NULL, NULL, 0}"#,
                    ]
                    $0.extraCode = Self.handlers
                    $0.startCode = """
                        const char *mode = NULL; int64_t workers = 0; int32_t verbose = -1; double ratio = 0;
                        api->config_string(s->host, "mode", &mode); record(mode);
                        api->config_int(s->host, "workers", &workers); note("workers", (int)workers);
                        api->config_bool(s->host, "verbose", &verbose); note("verbose", verbose);
                        note("ratio_absent", api->config_double(s->host, "ratio", &ratio));
                        note("wrong_type", api->config_int(s->host, "mode", &workers));
                        note("int_as_double", api->config_double(s->host, "workers", &ratio));
                        record(api->node_name(s->host));
                        record(api->data_dir(s->host));
                        note("node_id_len", (int)strlen(api->node_id(s->host)));
                        """
                }
            ], environment: ["JAMEY_PLUGINS_ENVY_CONFIG_WORKERS": "8"])
        defer { k.shutdown() }
        let e = events()
        #expect(e.contains("fast"))
        #expect(e.contains("workers=8"), "environment override applied")
        #expect(e.contains("verbose=0"))
        #expect(e.contains("ratio_absent=\(JAMEY_E_NOT_FOUND_VALUE)"))
        #expect(e.contains("wrong_type=\(JAMEY_E_TYPE_VALUE)"))
        #expect(e.contains("int_as_double=0"))
        #expect(e.contains("test-node"))
        #expect(e.contains("\(k.kernel.dataDirectory)/envy"))
        #expect(FileManager.default.fileExists(atPath: k.kernel.dataDirectory + "/envy"))
        #expect(e.contains("node_id_len=36"))
    }
}

// Return codes as plain Ints for string matching.
let JAMEY_E_INVALID_VALUE = -1
let JAMEY_E_NOT_FOUND_VALUE = -2
let JAMEY_E_TIMEOUT_VALUE = -3
let JAMEY_E_EXISTS_VALUE = -4
let JAMEY_E_VERSION_VALUE = -7
let JAMEY_E_NO_RESPONDERS_VALUE = -9
let JAMEY_E_PLUGIN_VALUE = -10
let JAMEY_E_TYPE_VALUE = -13
