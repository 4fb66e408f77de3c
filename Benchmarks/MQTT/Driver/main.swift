// mqtt-bench: the Jamey side of scripts/bench-mqtt.sh.
//
//   mqtt-bench throughput PLUGIN PORT MESSAGES SIZE QOS WINDOW
//       A node whose mqtt plugin exports bench.out.> to bench/... and imports bench/# back to
//       bench.in.*: messages go from the bus through the broker and back into the bus. At most
//       WINDOW are outstanding. Prints: jamey qos=Q size=S messages=N received=R seconds=T rate=R
//
//   mqtt-bench reconnect PLUGIN CONF ROUNDS INITIAL_DELAY_MS
//       Starts mosquitto with CONF, connects a node, then ROUNDS times stops the broker (SIGTERM),
//       starts it again and measures from the broker accepting connections to the node being
//       connected again. Prints: reconnect initial_delay_ms=D rounds=N median_ms=M max_ms=X
//
//   mqtt-bench requests PLUGIN PORT REQUESTS SIZE
//       Two nodes on the broker at PORT: front's remote rule forwards bench.rr.> requests, back
//       imports them and answers on its bus. Times REQUESTS bus requests from front, one at a time.
//       Prints: jamey size=S requests=N p50_us=.. p90_us=.. p99_us=.. mean_us=..
//
//   mqtt-bench restart PLUGIN CONF ROUNDS SIGNAL SESSION RATE
//       Starts mosquitto with CONF, connects a node (SESSION: persistent = clean_session false,
//       MQTT 5 session expiry; clean = clean_session true) exporting bench.> at QoS 1 while a
//       thread publishes RATE messages/s, then ROUNDS times kills the broker with SIGNAL (TERM or
//       KILL), leaves it down 300 ms (the spool fills), starts it again and measures from the
//       broker accepting connections to the node connected with its spool empty.
//       Prints: restart signal=S session=X rounds=N median_ms=M max_ms=X spooled_max=P

import Foundation
import JameyKernel
import JameyTestKit
import Synchronization

/// The broker the reconnect benchmark started, stopped on the way out.
nonisolated(unsafe) var startedBroker: Process?

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    if let broker = startedBroker, broker.isRunning { kill(broker.processIdentifier, SIGKILL) }
    exit(1)
}

func node(plugin: String, port: Int, config: String) throws -> TestKernel {
    let dir = try TemporaryDirectory.make(prefix: "jamey-mqtt-bench")
    let section = "host: 127.0.0.1\nport: \(port)\npresence:\n  enabled: false\n" + config
    let indented = section.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n")
    let yaml = """
        node:
          name: bench
        data_dir: \(dir)/data
        log:
          level: warning
        bus:
          queue_capacity: 200000
        plugins:
          mqtt:
            path: "\(plugin)"
            config:
        \(indented)

        """
    return try TestKernel.boot(yaml: yaml)
}

func connected(_ k: TestKernel) -> Bool { k.kernel.plugin(named: "mqtt")?.health?.status == "ok" }

func waitFor(_ seconds: Double, every pause: useconds_t = 200, _ condition: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if condition() { return true }
        usleep(pause)
    }
    return condition()
}

func throughput(_ args: [String]) throws {
    guard args.count == 6, let port = Int(args[1]), let n = Int(args[2]), let size = Int(args[3]), let qos = Int(args[4]),
        let window = Int(args[5])
    else { fail("usage: mqtt-bench throughput PLUGIN PORT MESSAGES SIZE QOS WINDOW") }
    let k = try node(
        plugin: args[0], port: port,
        config: """
            outbound:
              - bus: "bench.out.>"
                mqtt: "bench/{1}"
                prefix: ""
                qos: \(qos)
            inbound:
              - mqtt: "bench/#"
                bus: "bench.in.{1}"
                prefix: ""
                qos: \(qos)
                no_local: false
            """)
    defer { k.shutdown() }
    guard waitFor(10, { connected(k) }) else { fail("the node did not connect") }
    let received = Atomic<Int>(0)
    _ = try k.bus.subscribe("bench.in.>", capacity: 1_000_000) { _ in
        received.add(1, ordering: .relaxed)
        return true
    }
    let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
    func run(_ count: Int, topic: String) throws {
        for i in 0..<count {
            while i - received.load(ordering: .relaxed) >= window { usleep(20) }
            try k.bus.publish(BusMessage(topic: topic, payload: payload))
        }
    }
    let warmup = min(1000, n / 10)
    try run(warmup, topic: "bench.out.warmup")
    guard waitFor(30, { received.load(ordering: .relaxed) >= warmup }) else { fail("warm-up messages did not come back") }
    received.store(0, ordering: .relaxed)
    let start = ContinuousClock.now
    try run(n, topic: "bench.out.data")
    _ = waitFor(60) { received.load(ordering: .relaxed) >= n }
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let got = received.load(ordering: .relaxed)
    print(
        "jamey qos=\(qos) size=\(size) messages=\(n) received=\(got) seconds=\(String(format: "%.3f", seconds)) rate=\(Int(Double(got) / seconds))"
    )
}

/// Two nodes on one broker, as two servers would be: `front` forwards bus requests on
/// `bench.rr.>` to MQTT (a `remote` rule), `back` imports them as bus requests and a responder on
/// its bus answers each with its payload. REQUESTS requests go one at a time from front's bus,
/// each timed from the request to its reply (after 100 to warm up).
func requests(_ args: [String]) throws {
    guard args.count == 4, let port = Int(args[1]), let n = Int(args[2]), n > 0, let size = Int(args[3]) else {
        fail("usage: mqtt-bench requests PLUGIN PORT REQUESTS SIZE")
    }
    let front = try node(
        plugin: args[0], port: port,
        config: """
            client_id: bench-front
            remote:
              - bus: "bench.rr.>"
                timeout_ms: 10000
            """)
    defer { front.shutdown() }
    let back = try node(
        plugin: args[0], port: port,
        config: """
            client_id: bench-back
            inbound:
              - mqtt: "bench/rr/#"
                bus: "bench.rr.{1}"
            """)
    defer { back.shutdown() }
    guard waitFor(10, { connected(front) && connected(back) }) else { fail("the nodes did not connect") }
    let bus = back.bus
    _ = try bus.subscribe("bench.rr.echo", responder: true) { request in
        try? bus.reply(
            to: request.replyTo ?? "", correlationID: request.correlationID,
            BusMessage(topic: "reply", payload: request.payload))
        return true
    }
    let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
    func roundTrip() throws -> Double {
        let start = ContinuousClock.now
        let reply = try front.bus.requestSync(BusMessage(topic: "bench.rr.echo", payload: payload), timeout: .seconds(10))
        let elapsed = ContinuousClock.now - start
        guard reply.payload.count == size else { fail("a reply of \(reply.payload.count) bytes, not \(size)") }
        return Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
    }
    // The inbound subscription may still be on its way to the broker: retry the first request.
    guard waitFor(10, every: 50_000, { (try? roundTrip()) != nil }) else { fail("no reply from the other node") }
    for _ in 0..<100 { _ = try roundTrip() }
    var took: [Double] = []
    took.reserveCapacity(n)
    for _ in 0..<n { took.append(try roundTrip()) }
    let mean = took.reduce(0, +) / Double(n)
    took.sort()
    func at(_ q: Double) -> Int { Int(took[Int(Double(n - 1) * q)].rounded()) }
    print(
        "jamey size=\(size) requests=\(n) p50_us=\(at(0.5)) p90_us=\(at(0.9)) p99_us=\(at(0.99)) mean_us=\(Int(mean.rounded()))")
}

/// The port of the `listener PORT` line of a mosquitto config.
func listenerPort(_ conf: String) throws -> Int {
    let text = try String(contentsOfFile: conf, encoding: .utf8)
    guard
        let port = text.split(separator: "\n").first(where: { $0.hasPrefix("listener ") })?.split(separator: " ").dropFirst()
            .first
            .flatMap({ Int($0) })
    else { fail("no 'listener PORT' line in \(conf)") }
    return port
}

/// Starts mosquitto with `conf` (SIGTERM, SIGINT and SIGHUP reset to their defaults).
func startMosquitto(_ conf: String) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["--default-signal=TERM,INT,HUP", "mosquitto", "-c", conf]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    startedBroker = p
    return p
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func acceptsConnections(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_addr.s_addr = inet_addr("127.0.0.1")
    a.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}

func reconnect(_ args: [String]) throws {
    guard args.count == 4, let rounds = Int(args[2]), let initial = Int(args[3]) else {
        fail("usage: mqtt-bench reconnect PLUGIN CONF ROUNDS INITIAL_DELAY_MS")
    }
    let conf = args[1]
    let port = try listenerPort(conf)
    func startBroker() throws -> Process { try startMosquitto(conf) }
    func accepting() -> Bool { acceptsConnections(port) }
    var broker = try startBroker()
    guard waitFor(10, accepting) else { fail("mosquitto did not start") }
    let k = try node(
        plugin: args[0], port: port, config: "reconnect:\n  initial_delay_ms: \(initial)\n  max_delay_ms: \(max(initial, 30000))")
    defer { k.shutdown() }
    guard waitFor(10, { connected(k) }) else { fail("the node did not connect") }
    var samples: [Double] = []
    for _ in 0..<rounds {
        kill(broker.processIdentifier, SIGTERM)
        broker.waitUntilExit()
        guard waitFor(10, { !connected(k) }) else { fail("the node did not notice the broker going away") }
        broker = try startBroker()
        guard waitFor(10, accepting) else { fail("mosquitto did not restart") }
        let up = ContinuousClock.now
        guard waitFor(120, { connected(k) }) else { fail("the node did not reconnect") }
        let elapsed = ContinuousClock.now - up
        samples.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
    }
    kill(broker.processIdentifier, SIGTERM)
    broker.waitUntilExit()
    samples.sort()
    let median = samples[samples.count / 2]
    print(
        "reconnect initial_delay_ms=\(initial) rounds=\(rounds) median_ms=\(Int(median)) max_ms=\(Int(samples.last ?? 0)) samples_ms=\(samples.map { Int($0) })"
    )
}

func restart(_ args: [String]) throws {
    guard args.count == 6, let rounds = Int(args[2]), let rate = Int(args[5]), ["TERM", "KILL"].contains(args[3]),
        ["persistent", "clean"].contains(args[4])
    else { fail("usage: mqtt-bench restart PLUGIN CONF ROUNDS TERM|KILL persistent|clean RATE") }
    let conf = args[1]
    let signal = args[3] == "TERM" ? SIGTERM : SIGKILL
    let port = try listenerPort(conf)
    func startBroker() throws -> Process { try startMosquitto(conf) }
    func accepting() -> Bool { acceptsConnections(port) }
    var broker = try startBroker()
    guard waitFor(10, accepting) else { fail("mosquitto did not start") }
    let k = try node(
        plugin: args[0], port: port,
        config: """
            clean_session: \(args[4] == "clean")
            connect_timeout_ms: 2000
            reconnect:
              initial_delay_ms: 50
              max_delay_ms: 1000
            outbound:
              - bus: "bench.>"
                qos: 1
            """)
    defer { k.shutdown() }
    // The bridge's own status (the kernel's cached health lags by its health interval).
    func status() -> (connected: Bool, spooled: Int) {
        guard let reply = try? k.bus.requestSync(BusMessage(topic: "mqtt.status"), timeout: .seconds(5)),
            let object = try? JSONSerialization.jsonObject(with: Data(reply.payload)) as? [String: Any],
            let spool = object["spool"] as? [String: Any]
        else { return (false, -1) }
        return (object["connected"] as? Bool ?? false, spool["messages"] as? Int ?? -1)
    }
    func spooled() -> Int { status().spooled }
    func drained() -> Bool { status() == (true, 0) }
    guard waitFor(10, { status().connected }) else { fail("the node did not connect") }
    let stop = Atomic<Bool>(false)
    let publisher = Thread {
        let pause = useconds_t(1_000_000 / max(1, rate))
        var i = 0
        while !stop.load(ordering: .relaxed) {
            try? k.bus.publish(BusMessage(topic: "bench.seq", payload: Array(String(i).utf8)))
            i += 1
            usleep(pause)
        }
    }
    publisher.start()
    defer { stop.store(true, ordering: .relaxed) }
    var samples: [Double] = []
    var spooledMax = 0
    for _ in 0..<rounds {
        kill(broker.processIdentifier, signal)
        broker.waitUntilExit()
        guard waitFor(10, { !status().connected }) else { fail("the node did not notice the broker going away") }
        usleep(300_000)
        spooledMax = max(spooledMax, spooled())
        broker = try startBroker()
        guard waitFor(10, accepting) else { fail("mosquitto did not restart") }
        let up = ContinuousClock.now
        // Polled every 2 ms: each poll is a status request, and polling harder would load the
        // machine the bridge runs on.
        guard waitFor(120, every: 2000, drained) else { fail("the node did not reconnect and drain") }
        let elapsed = ContinuousClock.now - up
        samples.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        usleep(200_000)
    }
    kill(broker.processIdentifier, SIGTERM)
    broker.waitUntilExit()
    samples.sort()
    let median = samples[samples.count / 2]
    print(
        "restart signal=\(args[3]) session=\(args[4]) rounds=\(rounds) median_ms=\(Int(median)) max_ms=\(Int(samples.last ?? 0)) spooled_max=\(spooledMax) samples_ms=\(samples.map { Int($0) })"
    )
}

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "throughput": try throughput(Array(arguments.dropFirst()))
    case "reconnect": try reconnect(Array(arguments.dropFirst()))
    case "restart": try restart(Array(arguments.dropFirst()))
    case "requests": try requests(Array(arguments.dropFirst()))
    default: fail("usage: mqtt-bench throughput|reconnect|restart|requests ...")
    }
} catch {
    fail("mqtt-bench: \(error)")
}
exit(0)
