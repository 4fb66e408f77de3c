/// A C service call that hands its reply to a callback `(user, bytes, length)` (as
/// `jamey_memory_v1.search` does), made from a test: the call's status and the reply as text.
///
/// ```swift
/// let (status, json) = callWithReply(#"{"query":"pier"}"#) { request, length, reply, user in
///     table.search?(table.context, request, length, reply, user) ?? -1
/// }
/// ```
public func callWithReply(
    _ request: String,
    _ call: (
        UnsafePointer<CChar>?, Int, @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int) -> Void,
        UnsafeMutableRawPointer
    ) -> Int32
) -> (status: Int32, text: String) {
    final class Collector { var text = "" }
    let collector = Collector()
    let bytes = Array(request.utf8)
    let status = bytes.withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: CChar.self) { chars in
            call(
                chars.baseAddress, chars.count,
                { user, reply, length in
                    guard let user, let reply else { return }
                    Unmanaged<Collector>.fromOpaque(user).takeUnretainedValue().text = String(
                        decoding: UnsafeRawBufferPointer(start: reply, count: length), as: UTF8.self)
                }, Unmanaged.passUnretained(collector).toOpaque())
        }
    }
    return (status, collector.text)
}
