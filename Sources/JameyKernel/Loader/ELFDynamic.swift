#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What a shared library asks the dynamic loader for: the libraries it needs (`DT_NEEDED`) and
/// where it says to look for them (`DT_RUNPATH`, or the older `DT_RPATH`), read from its
/// `PT_DYNAMIC` segment with `pread` (64-bit little-endian ELF only; nil for anything else or a
/// file that does not parse, which the loader's own checks report).
struct ELFDynamic: Equatable {
    /// `DT_NEEDED`, in order.
    var needed: [String] = []
    /// `DT_RUNPATH`, split at `:`, as written (`$ORIGIN` not expanded).
    var runPath: [String] = []
    /// `DT_RPATH`, likewise (searched only when there is no `DT_RUNPATH`).
    var rPath: [String] = []

    /// The directories the loader searches, in order, before the system's: `DT_RUNPATH` when
    /// present, else `DT_RPATH`.
    var searchPath: [String] { runPath.isEmpty ? rPath : runPath }

    static func read(path: String) -> ELFDynamic? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        let size = UInt64(info.st_size)
        func bytes(at offset: UInt64, count: Int) -> [UInt8]? {
            guard count >= 0, offset <= size, UInt64(count) <= size - offset else { return nil }
            var buffer = [UInt8](repeating: 0, count: count)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            return n == count ? buffer : nil
        }
        func u16(_ b: [UInt8], _ at: Int) -> UInt64 { UInt64(b[at]) | UInt64(b[at + 1]) << 8 }
        func u32(_ b: [UInt8], _ at: Int) -> UInt64 { u16(b, at) | u16(b, at + 2) << 16 }
        func u64(_ b: [UInt8], _ at: Int) -> UInt64 { u32(b, at) | u32(b, at + 4) << 32 }
        guard let header = bytes(at: 0, count: 64), header[0] == 0x7F, header[4] == 2, header[5] == 1 else { return nil }
        let phoff = u64(header, 32)
        let phnum = Int(u16(header, 56))
        guard u16(header, 54) == 56, phnum > 0, phnum < 4096, let table = bytes(at: phoff, count: phnum * 56) else {
            return nil
        }
        var loads: [(vaddr: UInt64, offset: UInt64, size: UInt64)] = []
        var dynamic: (offset: UInt64, size: UInt64)?
        for i in 0..<phnum {
            let entry = Array(table[(i * 56)..<(i * 56 + 56)])
            switch u32(entry, 0) {
            case 1: loads.append((u64(entry, 16), u64(entry, 8), u64(entry, 32)))
            case 2: dynamic = (u64(entry, 8), u64(entry, 32))
            default: break
            }
        }
        // A library without PT_DYNAMIC needs nothing.
        guard let dynamic else { return ELFDynamic() }
        guard dynamic.size <= 1 << 20, let entries = bytes(at: dynamic.offset, count: Int(dynamic.size)) else { return nil }
        var strtab: UInt64?
        var strsz: UInt64 = 0
        var tagged: [(tag: UInt64, value: UInt64)] = []
        for i in 0..<(entries.count / 16) {
            let tag = u64(entries, i * 16)
            let value = u64(entries, i * 16 + 8)
            if tag == 0 { break }
            switch tag {
            case 5: strtab = value
            case 10: strsz = value
            case 1, 15, 29: tagged.append((tag, value))
            default: break
            }
        }
        guard !tagged.isEmpty else { return ELFDynamic() }
        // DT_STRTAB is an address: the PT_LOAD segment holding it says where it is in the file.
        guard let address = strtab, strsz > 0, strsz <= 1 << 24,
            let load = loads.first(where: { address >= $0.vaddr && address - $0.vaddr < $0.size }),
            let strings = bytes(at: address - load.vaddr + load.offset, count: Int(strsz))
        else { return nil }
        func string(_ at: UInt64) -> String? {
            guard at < strsz, let end = strings[Int(at)...].firstIndex(of: 0) else { return nil }
            return String(decoding: strings[Int(at)..<end], as: UTF8.self)
        }
        var result = ELFDynamic()
        for (tag, value) in tagged {
            guard let text = string(value) else { return nil }
            switch tag {
            case 1: result.needed.append(text)
            case 15: result.rPath += text.split(separator: ":").map(String.init)
            default: result.runPath += text.split(separator: ":").map(String.init)
            }
        }
        return result
    }
}
