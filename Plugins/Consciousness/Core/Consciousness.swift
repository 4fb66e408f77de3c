import Synchronization

/// The workspace pipeline: `process(text)` runs attention, the global workspace's competition,
/// integration, higher-order thought, prediction and the emotional state, and reports every
/// level with the inputs that produced it.
///
/// One owner of the state: a single `Mutex` around a value (``State``), taken once per text for
/// the short pure update and never held across a call out (Jamey 3.0 took its own lock twice and
/// deadlocked). The text-only work (checks, features, scores) runs before the lock, so many
/// threads can process at once. Thread-safe.
public final class Consciousness: Sendable {
    /// The settings given at creation.
    public let settings: ConsciousnessSettings
    let state: Mutex<State>

    /// - Parameter settings: thresholds and rates.
    public init(settings: ConsciousnessSettings = ConsciousnessSettings()) {
        self.settings = settings
        state = Mutex(State(settings: settings))
    }

    /// Processes one text.
    /// - Parameters:
    ///   - text: 1 to ``ConsciousnessSettings/maxTextLength`` characters, no control characters
    ///     other than tab and line breaks.
    ///   - now: the caller's clock in seconds (monotonic; tests pass their own).
    ///   - emotion: the conscience's score and the soul's reading, when their plugins answered.
    /// - Returns: every stage's result; `broadcast` is set when the text won the competition.
    /// - Throws: ``ConsciousnessError`` `.invalid` naming `text` for a refused text.
    public func process(_ text: String, at now: Double, emotion: EmotionInputs = EmotionInputs()) throws(ConsciousnessError)
        -> Outcome
    {
        let input = try TextInput(text, maxLength: settings.maxTextLength)
        let parts = Priority.parts(of: input, maxLength: settings.priorityMaxLength)
        let features = Integration.features(of: input)
        let integration = Integration(features: features)
        let thought = HigherOrderThought.score(input)
        let feeling = EmotionalState(emotion)
        return state.withLock { $0.process(input, parts, integration, thought, feeling, at: now) }
    }

    /// Every level now, with the inputs that produced it.
    public func levels(at now: Double) -> Levels {
        state.withLock { $0.levels(at: now) }
    }
}

/// The pipeline's state, mutated only under ``Consciousness``'s lock.
struct State: Sendable {
    let settings: ConsciousnessSettings
    var workspace = GlobalWorkspace()
    var attention = Attention()
    var higherOrder: HigherOrderThought
    var prediction: Prediction
    var processed = 0
    var last: Outcome?

    init(settings: ConsciousnessSettings) {
        self.settings = settings
        higherOrder = HigherOrderThought(rate: settings.higherOrderRate)
        prediction = Prediction(rate: settings.predictionRate)
    }

    mutating func process(
        _ input: TextInput, _ parts: Priority.TextParts, _ integration: Integration, _ thought: HigherOrderThought.Score,
        _ feeling: EmotionalState, at now: Double
    ) -> Outcome {
        processed += 1
        let focus = attention.attend(input)
        let novelty = workspace.current == nil ? 1 : max(0, 1 - JaroWinkler.similarity(input.scalars, workspace.currentScalars))
        let priority = Priority(parts, novelty: novelty)
        var broadcast: Broadcast?
        if priority.value >= settings.competitionThreshold {
            let b = Broadcast(
                sequence: workspace.broadcasts + 1, content: input.text, priority: priority.value, focus: focus.focus, at: now)
            workspace.broadcast(b, scalars: input.scalars, at: now, halfLife: settings.activityHalfLife)
            broadcast = b
        }
        higherOrder.add(thought.score)
        let predicted = prediction.observe(integration.features)
        let outcome = Outcome(
            priority: priority, threshold: settings.competitionThreshold, broadcast: broadcast,
            activity: activity(at: now), attention: focus,
            higherOrder: .init(score: thought, level: higherOrder.level ?? thought.score), prediction: predicted,
            integration: integration, integrated: integration.value >= settings.integrationThreshold, emotionalState: feeling)
        last = outcome
        return outcome
    }

    func activity(at now: Double) -> Double {
        min(workspace.load(at: now, halfLife: settings.activityHalfLife) / settings.activityScale, 1)
    }

    func levels(at now: Double) -> Levels {
        let load = workspace.load(at: now, halfLife: settings.activityHalfLife)
        return Levels(
            processed: processed,
            workspace: .init(
                activity: activity(at: now), recentBroadcasts: load, halfLifeSeconds: settings.activityHalfLife,
                scale: settings.activityScale, broadcasts: workspace.broadcasts, threshold: settings.competitionThreshold,
                current: workspace.current, lastPriority: last?.priority),
            attention: .init(
                focus: attention.focus, shifts: attention.shifts, predictedNext: attention.predicted?.focus,
                predictionContext: attention.predicted?.context ?? [], predictions: attention.predictions,
                hits: attention.hits),
            higherOrder: .init(level: higherOrder.level ?? 0, rate: higherOrder.rate, last: last?.higherOrder.score),
            prediction: .init(
                confidence: prediction.confidence, error: prediction.error, rate: prediction.rate,
                lastSurprise: last?.prediction.surprise, expectedNext: prediction.expected),
            integration: .init(
                last: last?.integration, threshold: settings.integrationThreshold, maximum: Integration.maximum,
                integrated: last?.integrated),
            emotionalState: last?.emotionalState)
    }
}
