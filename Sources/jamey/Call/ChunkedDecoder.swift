import Foundation

/// Decodes a `Transfer-Encoding: chunked` body incrementally, as bytes arrive.
struct ChunkedDecoder: Sendable {
    private enum State: Equatable {
        /// Reading a chunk-size line (hex digits, optional extensions, CRLF).
        case size
        /// Inside a chunk, this many bytes left.
        case data(Int)
        /// The CRLF after a chunk's data.
        case dataEnd
        /// Trailer lines after the last chunk, until an empty line.
        case trailer
        /// The body is complete.
        case done
    }

    private var state = State.size
    private var line: [UInt8] = []

    /// Whether the final chunk and trailer have been read.
    var isComplete: Bool { state == .done }

    /// Consumes `bytes` and returns the body bytes they carry.
    /// - Throws: ``HTTPClientError`` on a malformed chunk header.
    mutating func decode(_ bytes: some Collection<UInt8>) throws(HTTPClientError) -> [UInt8] {
        var out: [UInt8] = []
        var index = bytes.startIndex
        while index != bytes.endIndex, state != .done {
            switch state {
            case .data(let left):
                let end = bytes.index(index, offsetBy: left, limitedBy: bytes.endIndex) ?? bytes.endIndex
                out += bytes[index..<end]
                let taken = bytes.distance(from: index, to: end)
                index = end
                state = taken == left ? .dataEnd : .data(left - taken)
            case .size, .dataEnd, .trailer:
                let byte = bytes[index]
                index = bytes.index(after: index)
                guard byte == UInt8(ascii: "\n") else {
                    if byte != UInt8(ascii: "\r") { line.append(byte) }
                    guard line.count <= 4096 else {
                        throw HTTPClientError("the server sent a chunk header longer than 4096 bytes")
                    }
                    continue
                }
                try endLine()
            case .done:
                break
            }
        }
        return out
    }

    private mutating func endLine() throws(HTTPClientError) {
        defer { line.removeAll(keepingCapacity: true) }
        switch state {
        case .size:
            let text = String(decoding: line, as: UTF8.self)
            let digits = text.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            guard let size = Int(digits.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw HTTPClientError("the server sent a malformed chunk size '\(text)'")
            }
            state = size == 0 ? .trailer : .data(size)
        case .dataEnd:
            guard line.isEmpty else { throw HTTPClientError("the server sent chunk data longer than its size") }
            state = .size
        case .trailer:
            if line.isEmpty { state = .done }
        case .data, .done:
            break
        }
    }
}
