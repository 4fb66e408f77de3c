import CJameyABI
import JameyIsolationWire

#if canImport(Glibc)
    import Glibc
#endif

/// What a request of the isolated plugin's needs when its reply comes: where to send it.
private final class ChildRequest {
    let child: IsolatedChild
    let seq: UInt64
    init(child: IsolatedChild, seq: UInt64) {
        self.child = child
        self.seq = seq
    }
}

extension PluginSupervisor {
    /// A request the plugin sends: made through the kernel's host function; the reply (or the
    /// failure) goes back to the child as a requestDone frame.
    func request(_ reader: inout WireReader, _ child: IsolatedChild) {
        let seq = reader.u64()
        let timeout = reader.u32()
        let context = Unmanaged.passRetained(ChildRequest(child: child, seq: seq)).toOpaque()
        let code =
            reader.withMessage { message in
                HostAPI.table.pointee.request_v2!(
                    host.opaque, message, timeout, JAMEY_REQUEST_DONE_ANY_THREAD,
                    { userData, status, reply in
                        let request = Unmanaged<ChildRequest>.fromOpaque(userData!).takeRetainedValue()
                        var frame = WireWriter(.requestDone, capacity: (reply?.pointee.payload_len ?? 0) + 128)
                        frame.u64(request.seq)
                        frame.i32(status)
                        frame.u8(reply == nil ? 0 : 1)
                        if let reply { frame.message(reply) }
                        request.child.socket.send(frame.finish())
                    }, context)
            } ?? JAMEY_E_INVALID
        guard code == JAMEY_OK else {
            Unmanaged<ChildRequest>.fromOpaque(context).release()
            var frame = WireWriter(.requestDone, capacity: 16)
            frame.u64(seq)
            frame.i32(code)
            frame.u8(0)
            child.socket.send(frame.finish())
            return
        }
    }

    /// A metric the plugin registers, through the kernel's host function.
    func registerMetric(_ reader: inout WireReader, _ child: IsolatedChild) {
        let seq = reader.u64()
        let kind = reader.u32()
        let name = reader.string()
        let help = reader.optionalString()
        let labelCount = Int(reader.u32())
        guard labelCount <= 64 else { return answer(child, seq, JAMEY_E_INVALID) }
        var texts: [String] = [name, help ?? ""]
        for _ in 0..<labelCount * 2 { texts.append(reader.string()) }
        let bucketCount = Int(reader.u32())
        guard bucketCount <= 256, !reader.failed else { return answer(child, seq, JAMEY_E_INVALID) }
        var buckets: [Double] = []
        for _ in 0..<bucketCount { buckets.append(reader.f64()) }
        let strings: [UnsafeMutablePointer<CChar>] = texts.map { strdup($0)! }
        defer { strings.forEach { free($0) } }
        let kvs = (0..<labelCount).map {
            jamey_kv(key: UnsafePointer(strings[2 + 2 * $0]), value: UnsafePointer(strings[3 + 2 * $0]))
        }
        var id: jamey_metric_id = 0
        let code = kvs.withUnsafeBufferPointer { kvBuffer in
            buckets.withUnsafeBufferPointer { bucketBuffer in
                var desc = jamey_metric_desc()
                desc.struct_size = UInt32(MemoryLayout<jamey_metric_desc>.size)
                desc.kind = kind
                desc.name = UnsafePointer(strings[0])
                desc.help = help == nil ? nil : UnsafePointer(strings[1])
                desc.labels = labelCount == 0 ? nil : kvBuffer.baseAddress
                desc.label_count = labelCount
                desc.buckets = bucketCount == 0 ? nil : bucketBuffer.baseAddress
                desc.bucket_count = bucketCount
                return HostAPI.table.pointee.metric_register!(host.opaque, &desc, &id)
            }
        }
        answer(child, seq, code, value: id)
    }

    /// A config value the plugin reads, through the kernel's host functions.
    func config(_ reader: inout WireReader, _ child: IsolatedChild) {
        let seq = reader.u64()
        let type = reader.u8()
        let key = reader.string()
        let api = HostAPI.table.pointee
        key.withCString { k in
            switch type {
            case 0:
                var out: UnsafePointer<CChar>?
                let code = api.config_string!(host.opaque, k, &out)
                answer(child, seq, code, text: out.map { String(cString: $0) } ?? "")
            case 1:
                var out: Int64 = 0
                let code = api.config_int!(host.opaque, k, &out)
                answer(child, seq, code, value: UInt64(bitPattern: out))
            case 2:
                var out: Double = 0
                let code = api.config_double!(host.opaque, k, &out)
                answer(child, seq, code, value: out.bitPattern)
            default:
                var out: Int32 = 0
                let code = api.config_bool!(host.opaque, k, &out)
                answer(child, seq, code, value: UInt64(out))
            }
        }
    }
}
