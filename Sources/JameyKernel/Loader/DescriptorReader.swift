/// Reads the parts of a plugin descriptor through ``PluginMemory``, turning every bad pointer,
/// over-long or unterminated string and absurd count into a ``LoadError`` sentence.
struct DescriptorReader {
    /// The library file, named first in every error.
    let path: String
    /// The plugin's name once known, for messages.
    var plugin: String?

    /// An error about `field`, naming the plugin when known.
    func error(_ check: LoadError.Check, _ detail: String) -> LoadError {
        LoadError(check, path: path, plugin.map { "plugin '\($0)' \(detail)" } ?? detail)
    }

    /// A string field; nil when the pointer is NULL and the field is optional.
    func string(_ pointer: UnsafePointer<CChar>?, field: String, limit: Int, required: Bool = false) throws(LoadError)
        -> String?
    {
        let read = PluginMemory.text(pointer, limit: limit)
        switch read {
        case .text(let value): return value
        case .null where !required: return nil
        default:
            throw error(
                .invalidDescriptor,
                "\(field): expected a NUL-terminated string of at most \(limit) bytes, found \(PluginMemory.describe(read, limit: limit))"
            )
        }
    }

    /// A C array whose elements start with `uint32_t struct_size`, read with that size as the
    /// stride (so a plugin built for a later minor, with larger elements, is read correctly).
    /// - Parameter minimumSize: the element's size in the oldest ABI minor that has it; a smaller
    ///   `struct_size` is refused, a larger one read up to this kernel's size (later fields that
    ///   an older plugin's element lacks read as zero).
    func array<Element>(
        _ base: UnsafePointer<Element>?, count: Int, limit: Int, field: String, elementName: String,
        minimumSize: Int = MemoryLayout<Element>.size
    ) throws(LoadError) -> [Element] {
        guard count > 0 else { return [] }
        guard count <= limit else {
            throw error(.invalidDescriptor, "\(field): \(count) entries is more than the limit of \(limit)")
        }
        guard let base else { throw error(.invalidDescriptor, "\(field): expected \(count) entries, found a NULL list") }
        guard let stride32 = PluginMemory.load(UInt32.self, at: UnsafeRawPointer(base)) else {
            throw error(.invalidDescriptor, "\(field): the list pointer points into unreadable memory")
        }
        let stride = Int(stride32)
        let size = minimumSize
        guard stride >= size else {
            throw error(.structTooSmall, "\(field): \(elementName) too small: expected struct_size >= \(size), found \(stride)")
        }
        guard stride <= 1 << 16 else {
            throw error(.invalidDescriptor, "\(field): \(elementName) struct_size \(stride) is more than the limit of 65536")
        }
        var result: [Element] = []
        result.reserveCapacity(count)
        let raw = UnsafeRawPointer(base)
        for i in 0..<count {
            guard let element = PluginMemory.load(Element.self, at: raw.advanced(by: i * stride), readable: stride) else {
                throw error(
                    .invalidDescriptor, "\(field)[\(i)]: the list ends in unreadable memory (it declares \(count) entries)")
            }
            result.append(element)
        }
        return result
    }
}
