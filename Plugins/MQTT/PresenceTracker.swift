import Foundation
import MQTTCore
import Synchronization

/// The live view of the other nodes, built from their retained status messages.
///
/// Thread-safe. ``handle(node:payload:)`` says whether a message is a join (a node not known to be
/// online now is) or a leave (a node known to be online now is not); the bridge turns those into
/// bus events.
final class PresenceTracker: Sendable {
    /// What one status message changed.
    enum Change: Sendable, Equatable {
        /// The node came online.
        case joined(NodeStatus)
        /// The node went offline (its last will, a clean stop, or its status was cleared).
        case left(NodeStatus)
    }

    /// A known node.
    struct Entry: Sendable {
        /// Its latest status.
        var status: NodeStatus
        /// When it last changed between online and offline.
        var changed: Date
    }

    private let nodes = Mutex<[String: Entry]>([:])

    /// Applies the status message of `node` (an empty payload clears it).
    /// - Returns: the join or leave it amounts to, or nil.
    func handle(node: String, payload: [UInt8]) -> Change? {
        let status =
            NodeStatus.parse(payload)
            ?? NodeStatus(node: node, id: "", status: payload.isEmpty ? "offline" : "unknown")
        return nodes.withLock { nodes -> Change? in
            let wasOnline = nodes[node]?.status.isOnline ?? false
            let changed = wasOnline != status.isOnline || nodes[node] == nil ? Date() : nodes[node]!.changed
            nodes[node] = Entry(status: status, changed: changed)
            if status.isOnline && !wasOnline { return .joined(status) }
            if !status.isOnline && wasOnline { return .left(status) }
            return nil
        }
    }

    /// Every known node, sorted by name.
    var snapshot: [Entry] { nodes.withLock { Array($0.values) }.sorted { $0.status.node < $1.status.node } }

    /// How many known nodes are online.
    var onlineCount: Int { nodes.withLock { $0.values.count { $0.status.isOnline } } }
}
