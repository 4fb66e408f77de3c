#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The part of an ELF header the loader checks before `dlopen`, to turn "invalid ELF header" into
/// a sentence that says what the file is.
struct ELFHeader {
    static let machineX86_64: UInt16 = 62
    static let machineAArch64: UInt16 = 183

    /// The `e_machine` value of the running process.
    static var hostMachine: UInt16 {
        #if arch(x86_64)
            return machineX86_64
        #elseif arch(arm64)
            return machineAArch64
        #else
            return 0
        #endif
    }

    static func machineName(_ machine: UInt16) -> String {
        switch machine {
        case machineX86_64: "x86_64"
        case machineAArch64: "aarch64"
        case 3: "i386"
        case 40: "arm"
        case 243: "riscv"
        default: "machine \(machine)"
        }
    }

    let is64Bit: Bool
    let isLittleEndian: Bool
    let type: UInt16
    let machine: UInt16

    /// Reads the header; throws a LoadError for a missing, unreadable or non-ELF file.
    static func read(path: String) throws(LoadError) -> ELFHeader {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = errno == ENOENT ? "does not exist" : "cannot be opened (\(String(cString: strerror(errno))))"
            throw LoadError(.missingFile, path: path, "plugin file \(reason)")
        }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 20)
        let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 20) }
        guard n == 20, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            let shown = bytes.prefix(max(0, n)).prefix(8).map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "." }
            throw LoadError(
                .notELF, path: path,
                "not a shared library: expected an ELF file, found \(n <= 0 ? "an empty file" : "a file starting with \"\(shown.joined())\"")"
            )
        }
        let little = bytes[5] == 1
        let machine = little ? UInt16(bytes[18]) | UInt16(bytes[19]) << 8 : UInt16(bytes[19]) | UInt16(bytes[18]) << 8
        let type = little ? UInt16(bytes[16]) | UInt16(bytes[17]) << 8 : UInt16(bytes[17]) | UInt16(bytes[16]) << 8
        return ELFHeader(is64Bit: bytes[4] == 2, isLittleEndian: little, type: type, machine: machine)
    }

    /// Checks that the program headers and every segment `dlopen` would map lie inside the file,
    /// so a truncated or corrupt library is a sentence instead of a SIGBUS when its pages are
    /// first touched. Call after ``checkLoadable(path:)`` (64-bit, host byte order).
    static func checkSegments(path: String) throws(LoadError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw LoadError(.missingFile, path: path, "plugin file cannot be opened (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw LoadError(.notELF, path: path, "plugin file cannot be examined (\(String(cString: strerror(errno))))")
        }
        let size = UInt64(info.st_size)
        func bytes(at offset: UInt64, count: Int) -> [UInt8]? {
            var buffer = [UInt8](repeating: 0, count: count)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            return n == count ? buffer : nil
        }
        func corrupt(_ detail: String) -> LoadError {
            LoadError(.corruptELF, path: path, "corrupt or truncated shared library: \(detail) (the file is \(size) bytes)")
        }
        guard let header = bytes(at: 0, count: 64) else { throw corrupt("the 64-byte ELF header is incomplete") }
        func u16(_ b: [UInt8], _ at: Int) -> UInt64 { UInt64(b[at]) | UInt64(b[at + 1]) << 8 }
        func u32(_ b: [UInt8], _ at: Int) -> UInt64 { u16(b, at) | u16(b, at + 2) << 16 }
        func u64(_ b: [UInt8], _ at: Int) -> UInt64 { u32(b, at) | u32(b, at + 4) << 32 }
        let phoff = u64(header, 32)
        let shoff = u64(header, 40)
        let phentsize = u16(header, 54)
        let phnum = u16(header, 56)
        let shentsize = u16(header, 58)
        let shnum = u16(header, 60)
        guard phentsize == 56, phnum > 0, phnum < 4096 else {
            throw corrupt("expected program headers of 56 bytes, found \(phnum) of \(phentsize) bytes")
        }
        let (phend, overflow) = phoff.addingReportingOverflow(phnum * phentsize)
        guard !overflow, phend <= size else {
            throw corrupt("the program headers end at byte \(overflow ? UInt64.max : phend), past the end of the file")
        }
        if shoff != 0 {
            let (shend, overflow) = shoff.addingReportingOverflow(shnum * shentsize)
            guard !overflow, shend <= size else {
                throw corrupt(
                    "the section headers end at byte \(overflow ? UInt64.max : shend), past the end of the file; it was probably cut short while copying"
                )
            }
        }
        guard let table = bytes(at: phoff, count: Int(phnum * phentsize)) else {
            throw corrupt("the program headers cannot be read")
        }
        var loads = 0
        var hasDynamic = false
        for i in 0..<Int(phnum) {
            let entry = Array(table[(i * 56)..<(i * 56 + 56)])
            let type = u32(entry, 0)
            let offset = u64(entry, 8)
            let fileSize = u64(entry, 32)
            let memorySize = u64(entry, 40)
            guard type == 1 || type == 2 else { continue }  // PT_LOAD, PT_DYNAMIC
            let (end, overflow) = offset.addingReportingOverflow(fileSize)
            guard !overflow, end <= size else {
                throw corrupt(
                    "segment \(i) (\(type == 1 ? "PT_LOAD" : "PT_DYNAMIC")) ends at byte \(overflow ? UInt64.max : end), past the end of the file"
                )
            }
            if type == 1 {
                guard fileSize <= memorySize else {
                    throw corrupt(
                        "segment \(i) (PT_LOAD) has more bytes in the file (\(fileSize)) than in memory (\(memorySize))")
                }
                loads += 1
            } else {
                hasDynamic = true
            }
        }
        guard loads > 0, hasDynamic else {
            throw corrupt(
                "expected loadable segments and a dynamic section, found \(loads) PT_LOAD and \(hasDynamic ? "a" : "no") PT_DYNAMIC"
            )
        }
    }

    /// Throws unless this file can be loaded into the running process.
    func checkLoadable(path: String) throws(LoadError) {
        let host = Self.machineName(Self.hostMachine)
        guard machine == Self.hostMachine, is64Bit == (MemoryLayout<Int>.size == 8) else {
            throw LoadError(
                .wrongArchitecture, path: path,
                "wrong architecture: expected a \(MemoryLayout<Int>.size * 8)-bit ELF for \(host), found a \(is64Bit ? 64 : 32)-bit ELF for \(Self.machineName(machine))"
            )
        }
        guard type == 3 else {  // ET_DYN
            throw LoadError(.notELF, path: path, "not a shared library: expected ELF type ET_DYN (3), found type \(type)")
        }
    }
}
