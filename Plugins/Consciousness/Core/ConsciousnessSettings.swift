/// The pipeline's tunables, each with the scale it is on.
public struct ConsciousnessSettings: Sendable, Equatable {
    /// A text is broadcast when its priority is at least this (0 to 1). Jamey 3.0's 0.7 let no
    /// ordinary text through (a 104-character sentence scored 0.673); 0.5 lets a new sentence of
    /// about 50 characters or anything urgent through, and holds back short words and a repeat
    /// of the current broadcast (its novelty is 0).
    public var competitionThreshold = 0.5
    /// Characters at which the priority's length part is full (Jamey 3.0: 100).
    public var priorityMaxLength = 100.0
    /// Seconds after which a broadcast counts half in the activity.
    public var activityHalfLife = 10.0
    /// Recent (decayed) broadcasts that make the activity 1.
    public var activityScale = 10.0
    /// Weight of the newest score in the higher-order level.
    public var higherOrderRate = 0.2
    /// Weight of the newest text in the prediction and its error.
    public var predictionRate = 0.3
    /// A text counts as integrated when its integration is at least this (on the heuristic's
    /// 0–0.15 scale; ordinary sentences score about 0.008–0.013).
    public var integrationThreshold = 0.005
    /// The longest text accepted, in characters (Jamey 3.0: 10,000).
    public var maxTextLength = TextInput.maxLength

    /// The defaults above.
    public init() {}
}
