import Logging
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
public struct BusConfiguration: Sendable { public var defaultQueueCapacity = 1024; public var defaultRequestTimeout: Duration = .seconds(5); public var workerCount = 0; public init() {} }
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
import CJameyABI
