import CJameyABI
import JameyIsolationWire
import Testing

/// The frames between the kernel and the runner: length prefix, fields, messages.
@Suite("Crash isolation: wire format")
struct WireTests {
    @Test func aMessageSurvivesTheRoundTripWithItsHeadersAndCorrelation() throws {
        let payload: [UInt8] = (0..<1024).map { UInt8(truncatingIfNeeded: $0) }
        var frame = WireWriter(.deliver)
        frame.u64(7)
        "t.topic".withCString { topic in
            "text/plain".withCString { type in
                "reply.1".withCString { replyTo in
                    "k".withCString { key in
                        "v".withCString { value in
                            let headers = [jamey_kv(key: key, value: value)]
                            headers.withUnsafeBufferPointer { kvs in
                                payload.withUnsafeBytes { bytes in
                                    var m = jamey_message()
                                    m.struct_size = UInt32(MemoryLayout<jamey_message>.size)
                                    m.topic = topic
                                    m.payload = bytes.baseAddress
                                    m.payload_len = bytes.count
                                    m.content_type = type
                                    m.headers = kvs.baseAddress
                                    m.header_count = 1
                                    m.reply_to = replyTo
                                    m.correlation_id = 99
                                    frame.message(&m, correlation: 42)
                                }
                            }
                        }
                    }
                }
            }
        }
        let bytes = frame.finish()
        #expect(bytes.count >= 5)
        let length = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
        #expect(length == bytes.count - 4)
        #expect(bytes[4] == FrameKind.deliver.rawValue)
        try bytes.withUnsafeBytes { all in
            var reader = WireReader(UnsafeRawBufferPointer(rebasing: all[5...]))
            #expect(reader.u64() == 7)
            let seen = try #require(
                reader.withMessage { m -> (String, [UInt8], String?, String, String?, UInt64, Bool) in
                    let p = m.pointee
                    let body = Array(UnsafeRawBufferPointer(start: p.payload, count: p.payload_len))
                    let header =
                        p.header_count == 1 ? String(cString: p.headers[0].key) + "=" + String(cString: p.headers[0].value) : ""
                    return (
                        String(cString: p.topic), body, p.content_type.map { String(cString: $0) }, header,
                        p.reply_to.map { String(cString: $0) }, p.correlation_id, p.source == nil
                    )
                })
            #expect(seen.0 == "t.topic")
            #expect(seen.1 == payload)
            #expect(seen.2 == "text/plain")
            #expect(seen.3 == "k=v")
            #expect(seen.4 == "reply.1")
            #expect(seen.5 == 42)
            #expect(seen.6)
            #expect(!reader.failed)
        }
    }

    @Test func aShortFrameIsNoticedAndLendsNoMessage() {
        var frame = WireWriter(.publish)
        frame.u32(1000)  // a topic length with nothing behind it
        let bytes = frame.finish()
        bytes.withUnsafeBytes { all in
            var reader = WireReader(UnsafeRawBufferPointer(rebasing: all[5...]))
            #expect(reader.withMessage { _ in true } == nil)
            #expect(reader.failed)
        }
    }
}
