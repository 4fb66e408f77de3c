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
    /// During a resync (``beginResync()``), the online nodes no status has confirmed since.
    private let unconfirmed = Mutex<Set<String>?>(nil)

    /// Most nodes known: past it a new one takes the place of the node offline longest, or is not
    /// followed while every known node is online. Every name ever seen on the presence topic was
    /// kept, with its last status (its plugins and services), for good.
    static let maxNodes = 1024
    /// The largest status read (bytes); a larger one counts as a status of kind `unknown`.
    static let maxStatusBytes = 64 << 10

    /// Applies the status message of `node`; an empty payload clears it (a leave if the node was
    /// online), and the node is forgotten.
    /// - Returns: the join or leave it amounts to, or nil.
    func handle(node: String, payload: [UInt8]) -> Change? {
        unconfirmed.withLock { _ = $0?.remove(node) }
        let parsed = payload.count <= Self.maxStatusBytes ? NodeStatus.parse(payload) : nil
        let status = parsed ?? NodeStatus(node: node, id: "", status: payload.isEmpty ? "offline" : "unknown")
        return nodes.withLock { nodes -> Change? in
            if payload.isEmpty {
                let was = nodes.removeValue(forKey: node)
                return was?.status.isOnline == true ? .left(status) : nil
            }
            if nodes[node] == nil, nodes.count >= Self.maxNodes {
                let offline = nodes.filter { !$0.value.status.isOnline }.min { $0.value.changed < $1.value.changed }
                guard let (oldest, _) = offline else { return nil }
                nodes[oldest] = nil
            }
            let wasOnline = nodes[node]?.status.isOnline ?? false
            let changed = wasOnline != status.isOnline || nodes[node] == nil ? Date() : nodes[node]!.changed
            nodes[node] = Entry(status: status, changed: changed)
            if status.isOnline && !wasOnline { return .joined(status) }
            if !status.isOnline && wasOnline { return .left(status) }
            return nil
        }
    }

    /// Starts a resync, when the presence topic has just been subscribed again: the broker then
    /// sends the retained status of every node it knows, and a node it no longer knows (one that
    /// died while a broker without persistence was down: no will was ever sent) is left online
    /// here for good unless ``endResync()`` finds it unconfirmed.
    func beginResync() {
        let online = nodes.withLock { Set($0.filter { $0.value.status.isOnline }.keys) }
        unconfirmed.withLock { $0 = online }
    }

    /// Ends a resync: the online nodes no status confirmed since ``beginResync()`` go offline.
    /// - Returns: their leaves.
    func endResync() -> [Change] {
        guard
            let stale = unconfirmed.withLock({ set -> Set<String>? in
                defer { set = nil }
                return set
            }), !stale.isEmpty
        else { return [] }
        return nodes.withLock { nodes in
            stale.sorted().compactMap { name -> Change? in
                guard var entry = nodes[name], entry.status.isOnline else { return nil }
                entry.status.status = "offline"
                entry.changed = Date()
                nodes[name] = entry
                return .left(entry.status)
            }
        }
    }

    /// Drops a resync in progress (the connection went before it ended).
    func cancelResync() { unconfirmed.withLock { $0 = nil } }

    /// Every known node, sorted by name.
    var snapshot: [Entry] { nodes.withLock { Array($0.values) }.sorted { $0.status.node < $1.status.node } }

    /// How many known nodes are online.
    var onlineCount: Int { nodes.withLock { $0.values.count { $0.status.isOnline } } }
}
