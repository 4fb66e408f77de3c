/// What storing a near-duplicate of an item already in the same layer does.
public enum DuplicatePolicy: String, Sendable, CaseIterable {
    /// Refuse it (409) and name the existing item.
    case reject
    /// Reinforce the existing item instead (access count + 1, importance the larger, tags the
    /// union) and return its id.
    case merge
    /// Store it anyway.
    case allow
}
