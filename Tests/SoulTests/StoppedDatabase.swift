import GRDB

/// Opens the database file of a kernel that has just stopped, waiting out a lock: its last
/// connection closes as its last owner lets go, and that connection's checkpoint can hold the
/// file an instant after the stop ("database is locked" in a loaded full suite).
func openStopped(_ path: String) throws -> DatabaseQueue {
    var configuration = Configuration()
    configuration.busyMode = .timeout(10)
    return try DatabaseQueue(path: path, configuration: configuration)
}
