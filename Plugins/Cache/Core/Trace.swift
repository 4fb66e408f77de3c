/// One request of a cache trace.
public struct TraceRequest: Sendable, Equatable {
    /// When it happened (the trace's unit, often seconds).
    public var timestamp: UInt32
    /// The object requested.
    public var id: UInt64
    /// The object's size in bytes (at least 1 when replayed).
    public var size: UInt32
    /// The index of the next request for the same object, or -1 if there is none.
    public var nextAccess: Int64

    public init(timestamp: UInt32, id: UInt64, size: UInt32, nextAccess: Int64 = -1) {
        self.timestamp = timestamp
        self.id = id
        self.size = size
        self.nextAccess = nextAccess
    }
}

/// The trace file formats the simulator reads.
public struct TraceFormat: Hashable, Sendable, CustomStringConvertible {
    private enum Code: String, CaseIterable { case oracle, csv }
    private let code: Code

    /// libCacheSim's `oracleGeneral`: 24-byte little-endian records (u32 timestamp, u64 id,
    /// u32 size, i64 next access or -1).
    public static let oracleGeneral = TraceFormat(code: .oracle)
    /// Text lines `timestamp,id,size`, an optional header line naming those columns, `#` comments.
    public static let csv = TraceFormat(code: .csv)

    /// Parses `oracle` (or `oracleGeneral`) and `csv`.
    public init?(name: String) {
        switch name.lowercased() {
        case "oracle", "oraclegeneral": code = .oracle
        case "csv": code = .csv
        default: return nil
        }
    }

    private init(code: Code) { self.code = code }

    public var description: String { code.rawValue }

    /// Parses a whole trace.
    /// - Throws: `TraceError` naming the record or line and the field that is wrong.
    public func parse(_ bytes: [UInt8]) throws(TraceError) -> [TraceRequest] {
        switch code {
        case .oracle: try TraceParser.oracleGeneral(bytes)
        case .csv: try TraceParser.csv(bytes)
        }
    }
}

/// Why a trace could not be read.
public struct TraceError: Error, Equatable, CustomStringConvertible {
    /// What is wrong and where.
    public let description: String
    init(_ description: String) { self.description = description }
}

enum TraceParser {
    static let recordSize = 24

    static func oracleGeneral(_ bytes: [UInt8]) throws(TraceError) -> [TraceRequest] {
        guard bytes.count % recordSize == 0 else {
            throw TraceError(
                "oracleGeneral trace: \(bytes.count) bytes is not a whole number of 24-byte records "
                    + "(\(bytes.count % recordSize) bytes left over after record \(bytes.count / recordSize))")
        }
        var requests: [TraceRequest] = []
        requests.reserveCapacity(bytes.count / recordSize)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                requests.append(
                    TraceRequest(
                        timestamp: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)),
                        id: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt64.self)),
                        size: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)),
                        nextAccess: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 16, as: Int64.self))))
                offset += recordSize
            }
        }
        return requests
    }

    static func csv(_ bytes: [UInt8]) throws(TraceError) -> [TraceRequest] {
        var requests: [TraceRequest] = []
        var lineNumber = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var text = String(decoding: line, as: UTF8.self)
            if text.hasSuffix("\r") { text.removeLast() }
            let trimmed = text.trimmingSpaces
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
            if requests.isEmpty, fields.first?.lowercased() == "timestamp" { continue }
            guard fields.count == 3 else {
                throw TraceError("CSV trace line \(lineNumber): expected 3 fields timestamp,id,size, found \(fields.count)")
            }
            guard let timestamp = UInt32(fields[0]) else {
                throw TraceError("CSV trace line \(lineNumber): timestamp '\(fields[0])' is not an integer in 0...\(UInt32.max)")
            }
            guard let id = UInt64(fields[1]) else {
                throw TraceError("CSV trace line \(lineNumber): id '\(fields[1])' is not an integer in 0...\(UInt64.max)")
            }
            guard let size = UInt32(fields[2]) else {
                throw TraceError("CSV trace line \(lineNumber): size '\(fields[2])' is not an integer in 0...\(UInt32.max)")
            }
            requests.append(TraceRequest(timestamp: timestamp, id: id, size: size))
        }
        fillNextAccess(&requests)
        return requests
    }

    /// Sets each request's `nextAccess` by scanning backwards (what oracleGeneral traces carry).
    static func fillNextAccess(_ requests: inout [TraceRequest]) {
        var seen: [UInt64: Int64] = [:]
        for i in requests.indices.reversed() {
            requests[i].nextAccess = seen[requests[i].id] ?? -1
            seen[requests[i].id] = Int64(i)
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
