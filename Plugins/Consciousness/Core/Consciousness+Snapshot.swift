import Foundation

extension Consciousness {
    /// The pipeline's state as JSON, for the plugin's snapshot: counts, the current broadcast and
    /// the decayed broadcast count as of `now`, attention's foci and patterns, the higher-order
    /// level and the prediction. The last outcome is not kept.
    public func snapshot(at now: Double) throws -> Data {
        let saved = state.withLock { $0.saved(at: now) }
        return try JSONEncoder().encode(saved)
    }

    /// Replaces the state with one ``snapshot(at:)`` wrote; `now` is the caller's clock, from which
    /// the saved activity decays on.
    /// - Throws: ``ConsciousnessError`` `.invalid` when `data` is not such a snapshot.
    public func restore(_ data: Data, at now: Double) throws(ConsciousnessError) {
        let saved: SavedState
        do {
            saved = try JSONDecoder().decode(SavedState.self, from: data)
        } catch {
            throw ConsciousnessError(.invalid, "snapshot: not a consciousness snapshot: \(error)")
        }
        // A build going back to an older one (a deploy rolled back) must not misread a newer
        // format (HandOverCapable's contract); files without one are format 1.
        if let format = saved.format, format != SavedState.currentFormat {
            throw ConsciousnessError(
                .invalid,
                "snapshot: format \(format), which this build (format \(SavedState.currentFormat)) does not know")
        }
        let settings = self.settings
        state.withLock { $0 = State(settings: settings, saved: saved, at: now) }
    }
}

/// What a snapshot holds.
struct SavedState: Codable {
    /// The format this build writes (absent in files written before formats were numbered).
    static let currentFormat = 1
    var format: Int?
    var processed: Int
    var broadcasts: Int
    var recentBroadcasts: Double
    var current: Broadcast?
    var attention: Attention.Saved
    var higherOrderLevel: Double?
    var expected: [Double]?
    var error: Double
}

extension State {
    func saved(at now: Double) -> SavedState {
        SavedState(
            format: SavedState.currentFormat, processed: processed, broadcasts: workspace.broadcasts,
            recentBroadcasts: workspace.load(at: now, halfLife: settings.activityHalfLife), current: workspace.current,
            attention: attention.saved, higherOrderLevel: higherOrder.level, expected: prediction.expected,
            error: prediction.error)
    }

    init(settings: ConsciousnessSettings, saved: SavedState, at now: Double) {
        self.init(settings: settings)
        processed = Attention.restoredCount(saved.processed)
        workspace = GlobalWorkspace(
            current: saved.current, broadcasts: Attention.restoredCount(saved.broadcasts), load: saved.recentBroadcasts,
            at: now)
        attention = Attention(saved: saved.attention)
        higherOrder = HigherOrderThought(rate: settings.higherOrderRate, level: saved.higherOrderLevel)
        prediction = Prediction(rate: settings.predictionRate, expected: saved.expected, error: saved.error)
    }
}

extension GlobalWorkspace {
    init(current: Broadcast?, broadcasts: Int, load: Double, at now: Double) {
        self.init()
        self.current = current
        currentScalars = current.map { Array($0.content.unicodeScalars) } ?? []
        self.broadcasts = broadcasts
        restoreLoad(load, at: now)
    }
}
