import Logging

extension KernelConfig {
    /// The bus settings in the bus's own terms.
    var busConfiguration: BusConfiguration {
        var c = BusConfiguration()
        c.defaultQueueCapacity = bus.queueCapacity
        c.defaultRequestTimeout = bus.requestTimeout
        c.workerCount = bus.workers
        return c
    }

    /// The configured level as a swift-log level.
    public var loggerLevel: Logger.Level { Logger.Level(rawValue: logLevel.rawValue) ?? .info }
}
