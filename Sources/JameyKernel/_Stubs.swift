// TEMPORARY: replaced by helpers' Bus/ and Config/.
import CoreMetrics
public struct BusHeader: Sendable { public var key: String; public var value: String; public init(key: String, value: String) { self.key = key; self.value = value } }
public struct BusMessage: Sendable {
    public var topic: String; public var payload: [UInt8]; public var contentType: String?; public var headers: [BusHeader]
    public var replyTo: String? = nil; public var correlationID: UInt64 = 0; public var source: String = ""
    public init(topic: String, payload: [UInt8] = [], contentType: String? = nil, headers: [BusHeader] = []) { self.topic = topic; self.payload = payload; self.contentType = contentType; self.headers = headers }
}
public struct BusError: Error, Sendable, Equatable { let c: Int; public static let timeout = BusError(c: 1), noResponders = BusError(c: 2), queueFull = BusError(c: 3), shutdown = BusError(c: 4), notFound = BusError(c: 5) }
public enum OverflowPolicy: Sendable { case dropNewest, dropOldest }
public struct BusConfiguration: Sendable { public init() {} }
public final class MessageBus: Sendable {
    public init(configuration: BusConfiguration = .init(), metricsFactory: any MetricsFactory) {}
    public func endpoint(owner: String) -> BusEndpoint { BusEndpoint(owner: owner) }
    public func shutdown(deadline: Duration = .seconds(5)) {}
}
public final class BusEndpoint: Sendable {
    public let owner: String
    init(owner: String) { self.owner = owner }
    public func publish(_ message: BusMessage) throws(BusError) {}
    public func subscribe(_ pattern: String, capacity: Int? = nil, overflow: OverflowPolicy = .dropNewest, handler: @escaping @Sendable (BusMessage) -> Bool) throws(BusError) -> UInt64 { 1 }
    @discardableResult public func unsubscribe(_ id: UInt64) -> Bool { true }
    public func unsubscribeAll() {}
    public func request(_ message: BusMessage, timeout: Duration? = nil, completion: @escaping @Sendable (Result<BusMessage, BusError>) -> Void) throws(BusError) {}
    public func requestSync(_ message: BusMessage, timeout: Duration? = nil) throws(BusError) -> BusMessage { message }
    public func reply(to replyTo: String, correlationID: UInt64, _ reply: BusMessage) throws(BusError) {}
}
public struct ConfigMap: Sendable, Equatable { public init() {}; public subscript(_ k: String) -> ConfigValue? { get { nil } set {} } }
public indirect enum ConfigValue: Sendable, Equatable { case null, bool(Bool), int(Int64), double(Double), string(String), list([ConfigValue]), map(ConfigMap); public func jsonString() -> String { "" } }
public enum ConfigFieldType: Sendable { case string, int, double, bool, stringList, object, objectList }
public struct ConfigField: Sendable {
    public var key: String; public var type: ConfigFieldType; public var isRequired = false; public var isSecret = false; public var defaultValue: String? = nil
    public var min: Double? = nil; public var max: Double? = nil; public var description: String? = nil; public var allowedValues: [String]? = nil; public var fields: [ConfigField] = []
}
public struct ConfigSchema: Sendable { public var fields: [ConfigField]; public init(fields: [ConfigField]) { self.fields = fields }; public func validateSchema() throws {} }
public struct ConfigErrors: Error, Sendable, CustomStringConvertible { public var description: String { "" } }
public enum Lookup<T> { case found(T), notFound, wrongType }
public struct ValidatedSection: Sendable { public var json: String { "{}" }; public func string(at: String) -> Lookup<String> { .notFound }; public func int(at: String) -> Lookup<Int64> { .notFound }; public func double(at: String) -> Lookup<Double> { .notFound }; public func bool(at: String) -> Lookup<Bool> { .notFound } }
public func validate(_ value: ConfigValue?, against schema: ConfigSchema, path: String, environment: [String: String], source: String) -> Result<ValidatedSection, ConfigErrors> { .failure(ConfigErrors()) }
public struct PluginEntry: Sendable { public var name: String; public var enabled: Bool; public var path: String?; public var required: Bool; public var rawConfig: ConfigValue? }
public struct KernelConfig: Sendable { public var nodeName = ""; public var dataDirectory = ""; public var pluginDirectory: String? = nil; public var shutdownTimeout: Duration = .seconds(1); public var plugins: [PluginEntry] = []; public var sourceName = ""; public var busConfiguration: BusConfiguration { .init() } }
extension ConfigField { static func fields(_ p: UnsafePointer<jamey_config_field>?, count: Int) throws -> [ConfigField] { [] } }
import CJameyABI
