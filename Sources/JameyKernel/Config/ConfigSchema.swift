/// The schema of one config section: its fields, in declaration order.
///
/// Check a schema once with ``validateSchema()`` when it is loaded (a plugin's descriptor);
/// ``validate(_:against:path:source:environment:)`` checks it again before using it.
public struct ConfigSchema: Sendable, Equatable {
    /// The top-level fields of the section.
    public var fields: [ConfigField]

    /// Creates a schema.
    ///
    /// - Parameter fields: the section's top-level fields.
    public init(fields: [ConfigField]) {
        self.fields = fields
    }
}

extension ConfigSchema: ExpressibleByArrayLiteral {
    /// Creates a schema from a list of fields.
    public init(arrayLiteral elements: ConfigField...) {
        self.init(fields: elements)
    }
}
