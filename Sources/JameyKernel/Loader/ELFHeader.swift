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
